"""Figures that recur across notebooks."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns


def plot_label_bars(
    values: pd.Series,
    title: str,
    xlabel: str,
    log: bool = False,
    fmt: str = "{:,.0f}",
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """One horizontal bar per label, sorted, each annotated with its value (fits 35 labels).

    On a log axis a zero cannot be drawn: it shows as a short stub, still annotated 0.
    """
    values = values.sort_values()
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.24 * len(values) + 1.2))
    lengths = values.clip(lower=0.9) if log else values
    sns.barplot(x=lengths.to_numpy(), y=values.index, ax=ax, color="#4c72b0", orient="h")
    if log:
        ax.set_xscale("log")
    for patch, value in zip(ax.patches, values, strict=True):
        ax.annotate(
            fmt.format(value),
            (patch.get_width(), patch.get_y() + patch.get_height() / 2),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    ax.set(title=title, xlabel=xlabel, ylabel="")
    ax.tick_params(axis="y", labelsize=8)
    return ax


def _tensor_sources(value: Any) -> list[str]:
    """The layer names in the ``keras_history`` entries of a node's serialised arguments."""
    if isinstance(value, dict):
        history = value.get("config", {}).get("keras_history") if "config" in value else None
        return [history[0]] if history else [n for v in value.values() for n in _tensor_sources(v)]
    if isinstance(value, list | tuple):
        return [name for item in value for name in _tensor_sources(item)]
    return []


def layer_inputs(model) -> dict[str, list[str]]:
    """For each layer of a functional model, the names of the layers it reads, taken from the
    model's config (masks and other keyword inputs are left out; helper ops are skipped)."""
    found = {
        layer["name"]: [n for node in layer["inbound_nodes"] for n in _tensor_sources(node["args"])]
        for layer in model.get_config()["layers"]
    }
    layers = {layer.name for layer in model.layers}

    def real(name: str) -> list[str]:  # an op Keras inserted (a mask, say): use what it reads
        return [name] if name in layers else [n for parent in found[name] for n in real(parent)]

    return {name: sorted({n for p in found[name] for n in real(p)}) for name in layers}


def plot_model(model, max_per_row: int = 9, title: str | None = None) -> plt.Figure:
    """Draw a functional model as boxes and arrows with matplotlib: each layer's name, type and
    output shape, top to bottom. A row of many outputs reading the same layer (36 heads) is
    drawn as a grid in one frame. No Graphviz needed (keras.utils.plot_model needs it)."""
    inputs = layer_inputs(model)
    depth: dict[str, int] = {}
    for layer in model.layers:  # model.layers is in graph order: parents come first
        depth[layer.name] = 1 + max((depth[p] for p in inputs[layer.name]), default=-1)
    levels = [[n for n in depth if depth[n] == d] for d in range(max(depth.values()) + 1)]

    def describe(name: str, short: bool) -> str:
        layer = model.get_layer(name)
        shape = str(tuple(layer.output.shape)).replace("None", "batch")
        activation = getattr(getattr(layer, "activation", None), "__name__", "")
        kind = type(layer).__name__ + (
            f", {activation}" if activation not in ("", "linear") else ""
        )
        return f"{name}\n{activation} {shape}".strip() if short else f"{name}\n{kind}\n{shape}"

    rows = []  # (names, grouped?) per drawn row
    for names in levels:
        grouped = len(names) > max_per_row and len({tuple(inputs[n]) for n in names}) == 1
        if grouped:
            rows += [(names[i : i + max_per_row], True) for i in range(0, len(names), max_per_row)]
        else:
            rows.append((names, False))
    width = max(len(names) for names, _ in rows)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.55 * width), 1.05 * len(rows) + 0.6))
    where: dict[str, tuple[float, float]] = {}
    for row, (names, grouped) in enumerate(rows):
        for i, name in enumerate(names):
            x, y = i - (len(names) - 1) / 2, -row
            where[name] = (x, y)
            ax.text(
                x, y, describe(name, grouped), ha="center", va="center",
                fontsize=6.5 if grouped else 8,
                bbox={"boxstyle": "round,pad=0.3", "fc": "#e8eef7" if grouped else "#dde8d5",
                      "ec": "#4c72b0" if grouped else "#55a868"},
            )  # fmt: skip
    arrow = {"arrowstyle": "->", "color": "#555555", "lw": 0.8, "shrinkA": 18, "shrinkB": 18}
    for names, grouped in rows:
        for name in names if not grouped else []:
            for parent in inputs[name]:
                ax.annotate("", where[name], where[parent], arrowprops=arrow)
    grouped_rows = [(names, where[names[0]][1]) for names, grouped in rows if grouped]
    if grouped_rows:  # one frame around the grid, and one arrow into it from the shared input
        top, bottom = grouped_rows[0][1], grouped_rows[-1][1]
        left = -(min(width, max_per_row) - 1) / 2 - 0.55
        frame = plt.Rectangle((left, bottom - 0.45), -2 * left, top - bottom + 0.9, fill=False,
                              ec="#4c72b0", ls="--", lw=1)  # fmt: skip
        ax.add_patch(frame)
        (parent,) = inputs[grouped_rows[0][0][0]]
        ax.annotate("", (0, top + 0.45), where[parent], arrowprops={**arrow, "shrinkB": 0})
        count = sum(len(names) for names, _ in grouped_rows)
        ax.text(left, top + 0.5, f"{count} heads, each reading {parent}", fontsize=8,
                color="#4c72b0", va="bottom")  # fmt: skip
    ax.set(xlim=(-width / 2 - 0.2, width / 2 + 0.2), ylim=(-len(rows) + 0.4, 0.6))
    ax.axis("off")
    ax.set_title(title or f"{model.name}: {model.count_params():,} parameters", fontsize=10)
    fig.tight_layout()
    return fig
