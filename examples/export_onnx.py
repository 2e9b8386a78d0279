#!/usr/bin/env python3
"""Regenerates the weight-stripped ONNX test graphs in data/onnx/.

Needs torch, torchvision and onnx (`pip install torch torchvision onnx`); lrmp's tests never
do. Each torchvision model is built with random weights (weights=None: no download), put in
eval mode and exported with the TorchScript exporter (opset 17, dynamic batch dimension).
Shape inference (onnx.shape_inference) then records value_info for the intermediate
tensors, so the importer's own derivation is checked against it. Finally every initializer
larger than 1 KiB is moved to external data whose file is deleted: the .onnx keeps the
graph and the weight dimensions only (lrmp never needs weight values), and stays small.

Usage: python3 examples/export_onnx.py [OUT_DIR]   (default data/onnx)
"""

import os
import sys

import onnx
import torch
import torchvision

MODELS = ["resnet18", "mobilenet_v2", "squeezenet1_1", "efficientnet_b0", "shufflenet_v2_x0_5"]


class Probe(torch.nn.Module):
    """A small network for what the torchvision models do not use: a dilated conv, a
    strided conv with odd padding, nearest-neighbour upsampling, a channel shuffle and a
    `view(x.size(0), -1)` flatten. Exported with symbolic height and width."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = torch.nn.Conv2d(3, 16, 3, stride=2, padding=(1, 0))
        self.dilated = torch.nn.Conv2d(16, 16, 3, padding=2, dilation=2, groups=4)
        self.up = torch.nn.Upsample(scale_factor=2.0, mode="nearest")
        self.pool = torch.nn.AvgPool2d(2)
        # At 32x32: stem 16x15, dilated 16x15, upsampled 32x30, pooled 16x15.
        self.fc = torch.nn.Linear(16 * 16 * 15, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.stem(x))
        n, c, h, w = x.size()
        x = x.view(n, 4, c // 4, h, w).transpose(1, 2).reshape(n, c, h, w)
        x = self.up(self.dilated(x))
        x = self.pool(x)
        return self.fc(x.view(x.size(0), -1))


def export(name: str, out_dir: str) -> str:
    spatial = name == "probe"
    model = Probe() if spatial else getattr(torchvision.models, name)(weights=None)
    model = model.eval()
    path = os.path.join(out_dir, f"{name}.onnx")
    axes = {0: "batch", 2: "height", 3: "width"} if spatial else {0: "batch"}
    size = 32 if spatial else 224
    with torch.no_grad():
        torch.onnx.export(
            model,
            (torch.zeros(1, 3, size, size),),
            path,
            opset_version=17,
            dynamo=False,
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": axes, "logits": {0: "batch"}},
        )
    graph = onnx.shape_inference.infer_shapes(onnx.load(path))
    data = f"{name}.weights"
    onnx.save_model(
        graph,
        path,
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location=data,
        size_threshold=1024,
    )
    os.remove(os.path.join(out_dir, data))
    return path


def main() -> None:
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "data/onnx"
    os.makedirs(out_dir, exist_ok=True)
    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}, onnx {onnx.__version__}")
    for name in MODELS + ["probe"]:
        path = export(name, out_dir)
        print(f"{path}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
