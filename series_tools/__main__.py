"""``python -m series_tools COMMAND``: what the Makefile targets do, without make.

Run with any Python 3.11+ from the repository root: the first call creates .venv from
requirements.lock, then every command runs inside it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from series_tools import BUILD_DIR, ROOT, bootstrap, notebooks

QUIET = {"TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore::DeprecationWarning"}


def _python(*args: str) -> None:
    """Run a module or script with this Python; stop with its exit status if it fails."""
    status = subprocess.call([sys.executable, *args], cwd=ROOT)
    if status:
        raise SystemExit(status)


def _executed(mode: str) -> list[Path]:
    """Where the runner keeps each notebook of the series executed in this mode."""
    from series_tools import runner

    return [runner.executed_path(path, mode) for path in notebooks()]


def data(args: argparse.Namespace) -> None:
    """Fetch and verify the dataset once; later runs use the cached copy."""
    _python("-m", "helpers.data")


def run(args: argparse.Namespace) -> None:
    """Execute notebooks into build/<mode>/, refresh the tables, build the site of the series."""
    from series_tools import navigation, runner

    data(args)
    try:
        folder = runner.run_series(args.mode, args.only, args.seed)
    except runner.NotebookFailed as failure:
        raise SystemExit(str(failure)) from None
    if args.seed is not None:  # another seed: its own folder; the published tables stay
        print(f"seed {args.seed}: executed notebooks, models and results record in {folder}")
        return
    navigation.refresh()
    if all(path.is_file() for path in _executed(args.mode)):
        site(args)
    else:
        print(f"site not rebuilt: not every notebook has run in {args.mode} mode yet")


def site(args: argparse.Namespace) -> None:
    """Render build/<mode>/*.ipynb (already executed) into build/<mode>/site with Jupyter Book;
    with --serve, serve it on localhost (built first if it is not there yet)."""
    from series_tools import site as book

    built = BUILD_DIR / args.mode / "site"
    if getattr(args, "serve", False) and (built / "index.html").is_file():
        return book.serve(built, args.port)
    start = time.perf_counter()
    problems = book.build(_executed(args.mode), BUILD_DIR / args.mode, args.mode)
    if problems:
        raise SystemExit("the site has problems:\n" + "\n".join(problems))
    index = (built / "index.html").relative_to(ROOT)
    print(f"site ready in {time.perf_counter() - start:.0f} s: {index}")
    if getattr(args, "serve", False):
        book.serve(built, args.port)


def timings(args: argparse.Namespace) -> None:
    """Copy the latest run times and full-mode results into series.json and every table."""
    from series_tools import navigation

    navigation.refresh()


def test(args: argparse.Namespace) -> None:
    """Unit tests, every notebook in quick mode, the site and packaging checks (pytest)."""
    data(args)
    # Two workers: one runs the notebooks 08 > 09 > 11, the other 05 > 07 and then the rest; the
    # unit tests fill in (tests/conftest.py). Groups are handed out in collection order.
    _python(
        "-m", "pytest", "-n", "2", "--dist", "loadgroup", "--no-loadscope-reorder",
        *args.pytest_args,
    )  # fmt: skip


def backends(args: argparse.Namespace) -> None:
    """Time one training epoch of notebook 05's BiLSTM on each Keras backend (own processes)."""
    from series_tools import backend_speed

    data(args)
    backend_speed.compare(args.sample, args.batch_size)


def lint(args: argparse.Namespace) -> None:
    """ruff on the code and the notebooks; notebooks must carry no outputs."""
    _python("-m", "ruff", "check", ".")
    _python("-m", "ruff", "format", "--check", "helpers", "series_tools", "tests", "notebooks")
    _python("-m", "pytest", "-q", "tests/test_hygiene.py")


def lab(args: argparse.Namespace) -> None:
    """Open the series in JupyterLab: the repository as its root (helpers/ and serving/ in
    the file browser), the index first, the notebooks trusted (setup wrote Lab's settings)."""
    import nbformat
    from nbformat.sign import NotebookNotary

    data(args)
    notary = NotebookNotary()  # our own notebooks: Lab need not warn that they are unsigned
    for path in notebooks():
        notary.sign(nbformat.read(path, as_version=4))
    index = notebooks()[0].relative_to(ROOT).as_posix()
    _python("-m", "jupyterlab", f"--ServerApp.root_dir={ROOT}", index)


def setup(args: argparse.Namespace) -> None:
    """Create .venv from requirements.lock with the project and a python3 kernel (once)."""
    bootstrap.setup()


def lock(args: argparse.Namespace) -> None:
    """Write requirements.lock from the packages installed in .venv."""
    bootstrap.write_lock(bootstrap.venv_python())


def parser() -> argparse.ArgumentParser:
    """One sub-command per Makefile target."""
    commands = argparse.ArgumentParser(prog="python -m series_tools", description=__doc__)
    sub = commands.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for handler in (setup, lock):  # these two run with any Python
        sub.add_parser(handler.__name__, help=handler.__doc__).set_defaults(handler=handler)
    for name, mode in (("run", "full"), ("quick", "quick")):
        summary = (
            f"execute the series in {mode} mode into build/{mode}/, refresh tables, build site"
        )
        command = sub.add_parser(name, help=summary)
        command.add_argument("only", nargs="*", help="only these notebooks, e.g. 05 or 05_multi")
        command.add_argument(
            "--seed",
            type=int,
            help="run with SEED=N (papermill parameter) into build/<mode>-seedN, which keeps its "
            "own models and results record; the published tables are left alone",
        )
        command.set_defaults(handler=run, mode=mode)
    command = sub.add_parser("site", help=site.__doc__)
    command.add_argument(
        "--quick", action="store_const", const="quick", default="full", dest="mode"
    )
    command.add_argument(
        "--serve", action="store_true", help="serve it at http://127.0.0.1:PORT/ (search works)"
    )
    command.add_argument("--port", type=int, default=8000)
    command.set_defaults(handler=site)
    command = sub.add_parser("serve", help="site --serve: the full-mode site on localhost")
    command.add_argument("--port", type=int, default=8000)
    command.set_defaults(handler=site, mode="full", serve=True)
    command = sub.add_parser("test", help=test.__doc__)
    command.add_argument("pytest_args", nargs=argparse.REMAINDER, help="passed on to pytest")
    command.set_defaults(handler=test)
    for handler in (data, timings, lint, lab):
        sub.add_parser(handler.__name__, help=handler.__doc__).set_defaults(handler=handler)
    command = sub.add_parser("backends", help=backends.__doc__)
    command.add_argument("--sample", type=int, default=4000, help="training messages timed")
    command.add_argument("--batch-size", type=int, default=128)
    command.set_defaults(handler=backends)
    return commands


def main(argv: list[str] | None = None) -> None:
    """Run a command inside .venv, creating or updating .venv first when needed."""
    argv = sys.argv[1:] if argv is None else argv
    args = parser().parse_args(argv)
    if args.handler in (setup, lock):
        return args.handler(args)
    python = bootstrap.setup()
    if Path(sys.prefix).resolve() != bootstrap.VENV.resolve():
        raise SystemExit(subprocess.call([str(python), "-m", "series_tools", *argv], cwd=ROOT))
    os.environ.update({k: v for k, v in QUIET.items() if k not in os.environ})
    args.handler(args)


if __name__ == "__main__":
    main()
