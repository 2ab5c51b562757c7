"""Runs inside the PyTorch reference's own virtualenv (bench/torch_reference.py), never in adain's: one case timed.

    <torch venv>/bin/python bench/torch_reference_helper.py CASE SIZE BATCH REPEATS WARMUP

The network is naoto0804/pytorch-AdaIN's (net.py, train.py, test.py), the PyTorch implementation most AdaIN
users start from: VGG-19 to relu4_1 behind its 1x1 input convolution, reflection padding and ceil-mode pooling;
the mirrored decoder with reflection padding and nearest upsampling. Weights are PyTorch's default
initialisation: the arithmetic, and so the time, does not depend on their values (nor on the inputs', uniform
noise in [0, 1]). CASE is one of
  train     its training iteration on BATCH content and BATCH style crops of SIZE^2: both encoded, AdaIN, decoded,
            the output encoded, content + 10 x style loss, backward into the decoder, Adam step (lr 1e-4)
  stylize   its test.py `style_transfer` under no_grad on BATCH content and style images of SIZE^2: both encoded,
            AdaIN, decoded
Prints one JSON line: the first call's seconds, then per timed call (after WARMUP untimed ones) wall and
process CPU seconds, torch's version and thread count. Only the standard library and torch are imported.
"""

import json
import os
import sys
import time
import warnings

# bench/ itself off the path: its profile.py would shadow the standard library's, which torch imports.
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]
warnings.filterwarnings("ignore", message="Failed to initialize NumPy")  # torch runs without numpy: none here

import torch  # noqa: E402
from torch import nn  # noqa: E402


def conv(cin: int, cout: int) -> list[nn.Module]:
    return [nn.ReflectionPad2d((1, 1, 1, 1)), nn.Conv2d(cin, cout, (3, 3)), nn.ReLU()]


def pool() -> nn.Module:
    return nn.MaxPool2d((2, 2), (2, 2), (0, 0), ceil_mode=True)


def encoder_stages() -> list[nn.Sequential]:
    """VGG-19 to relu4_1, cut as net.py's enc_1..enc_4 (relu1_1, relu2_1, relu3_1, relu4_1)."""
    return [
        nn.Sequential(nn.Conv2d(3, 3, (1, 1)), *conv(3, 64)),
        nn.Sequential(*conv(64, 64), pool(), *conv(64, 128)),
        nn.Sequential(*conv(128, 128), pool(), *conv(128, 256)),
        nn.Sequential(*conv(256, 256), *conv(256, 256), *conv(256, 256), pool(), *conv(256, 512)),
    ]


def decoder() -> nn.Sequential:
    up = nn.Upsample(scale_factor=2, mode="nearest")
    layers = [*conv(512, 256), up, *conv(256, 256), *conv(256, 256), *conv(256, 256), *conv(256, 128), up]
    layers += [*conv(128, 128), *conv(128, 64), up, *conv(64, 64), nn.ReflectionPad2d((1, 1, 1, 1))]
    return nn.Sequential(*layers, nn.Conv2d(64, 3, (3, 3)))


def mean_std(feat: torch.Tensor, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    n, c = feat.shape[:2]
    var = feat.view(n, c, -1).var(dim=2) + eps
    return feat.view(n, c, -1).mean(dim=2).view(n, c, 1, 1), var.sqrt().view(n, c, 1, 1)


def adain(content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    c_mean, c_std = mean_std(content)
    s_mean, s_std = mean_std(style)
    return (content - c_mean) / c_std * s_std + s_mean


class Net(nn.Module):
    """net.py's Net: frozen encoder stages, trainable decoder, the paper's content and style losses."""

    def __init__(self) -> None:
        super().__init__()
        self.stages = nn.ModuleList(encoder_stages())
        self.decoder = decoder()
        for stage in self.stages:
            stage.requires_grad_(False)
        self.mse = nn.MSELoss()

    def encode_with_intermediate(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        for stage in self.stages:
            x = stage(x)
        return x

    def forward(self, content: torch.Tensor, style: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        style_feats = self.encode_with_intermediate(style)
        t = adain(self.encode(content), style_feats[-1])
        output_feats = self.encode_with_intermediate(self.decoder(t))
        loss_c = self.mse(output_feats[-1], t)
        loss_s = sum(self.style_loss(o, s) for o, s in zip(output_feats, style_feats, strict=True))
        return loss_c, loss_s

    def style_loss(self, output: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        (o_mean, o_std), (s_mean, s_std) = mean_std(output), mean_std(style)
        return self.mse(o_mean, s_mean) + self.mse(o_std, s_std)


def main(case: str, size: str, batch: str, repeats: str, warmup: str) -> int:
    size, batch, repeats, warmup = int(size), int(batch), int(repeats), int(warmup)
    torch.manual_seed(0)
    net = Net()
    content, style = torch.rand(batch, 3, size, size), torch.rand(batch, 3, size, size)
    if case == "train":
        net.train()
        optimizer = torch.optim.Adam(net.decoder.parameters(), lr=1e-4)

        def call() -> None:
            loss_c, loss_s = net(content, style)
            loss = loss_c + 10.0 * loss_s
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    elif case == "stylize":
        net.eval()

        def call() -> None:
            with torch.no_grad():
                net.decoder(adain(net.encode(content), net.encode(style)))
    else:
        print(f"error: unknown case '{case}' (train, stylize)", file=sys.stderr)
        return 2
    start = time.perf_counter()
    call()
    first = time.perf_counter() - start
    for _ in range(warmup):
        call()
    wall, cpu = [], []
    for _ in range(repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        call()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)
    result = {"first": first, "wall": wall, "cpu": cpu, "torch": torch.__version__, "threads": torch.get_num_threads()}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
