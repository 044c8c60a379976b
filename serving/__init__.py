"""Deployment of the series' final model, apart from the lessons' ``helpers``.

- ``serving.export`` (training environment): the final model as ONNX networks, the tokenizer,
  the baseline's arrays and the decision rules, in one folder;
- ``serving.runtime``: that folder loaded with ONNX Runtime, NumPy and ``tokenizers`` only;
- ``python -m serving EXPORT MESSAGE ...``: the command-line classifier.
"""
