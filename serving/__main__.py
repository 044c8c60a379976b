"""Classify messages from the command line with an export, one JSON line per message:

    python -m serving build/export "We need water and food in Leogane" "..."
    python -m serving build/export < messages.txt   # one message per line

Imports only ``serving.runtime`` (NumPy, ONNX Runtime, tokenizers): no TensorFlow, no Keras,
no ``helpers``.
"""

import argparse
import json
import sys

from serving.runtime import VARIANTS, ServingError, load


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m serving", description=__doc__.split("\n")[0])
    parser.add_argument("export", help="the export folder, e.g. build/export (`make run`)")
    parser.add_argument("messages", nargs="*", help="messages; none: one per line on stdin")
    parser.add_argument("--variant", choices=VARIANTS, help="default: the one chosen on validation")
    args = parser.parse_args(argv)
    messages = args.messages or [line.rstrip("\n") for line in sys.stdin]
    try:
        model = load(args.export, args.variant)
    except ServingError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for answer in model.classify(messages):
        shown = {key: answer[key] for key in ("message", "related", "labels")}
        print(json.dumps(shown, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
