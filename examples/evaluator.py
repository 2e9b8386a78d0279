#!/usr/bin/env python3
"""Example external accuracy evaluator for `lrmp ... --accuracy external:CMD`.

Protocol (lrmp-accuracy/1, see docs/accuracy.md):
  stdin : {"protocol": "lrmp-accuracy/1", "network": NAME,
           "layers": [{"name": str, "w_bits": int, "a_bits": int}, ...]}
  stdout: {"accuracy": f, "reference_accuracy": f}   (fractions in 0..1)
      or  {"accuracy_drop": pp}                       (percentage points)
  exit 0 on success; on failure exit non-zero and explain on stderr.

A real evaluator would quantize its own model to these precisions and score it on its own
validation set. This example delegates to lrmp's own measured oracle for the digits network,
so it is runnable as is:

  lrmp eval --network digits --bits 4/4 \
      --accuracy "external:python3 examples/evaluator.py"

Set LRMP to the lrmp binary if it is not on PATH.
"""
import json
import os
import subprocess
import sys
import tempfile


def main() -> int:
    try:
        request = json.load(sys.stdin)
        layers = request["layers"]
        network = request["network"]
    except (ValueError, KeyError) as e:
        print(f"bad request: {e}", file=sys.stderr)
        return 2
    # The request's `layers` list is already an lrmp precision file.
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump({"layers": layers}, f)
        path = f.name
    try:
        lrmp = os.environ.get("LRMP", "lrmp")
        result = subprocess.run(
            [lrmp, "eval", "--network", network, "--precisions", path,
             "--accuracy", "measured", "--json"],
            capture_output=True, text=True, timeout=600)
    finally:
        os.unlink(path)
    if result.returncode != 0:
        print(f"lrmp eval failed: {result.stderr.strip()}", file=sys.stderr)
        return 1
    report = json.loads(result.stdout)
    print(json.dumps({"accuracy": report["accuracy"],
                      "reference_accuracy": report["float_accuracy"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
