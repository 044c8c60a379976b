"""Figures that recur across notebooks."""

from __future__ import annotations

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
