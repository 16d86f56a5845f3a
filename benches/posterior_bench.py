"""`make bench-posterior`: fit-posterior training steps/s at batch 64, L=32,
grid 32x32 (the whole tool: data assembly, forward, backward, Adam) for
`small-cnn` and the default U-Net, and prediction throughput (bundles/s)
through ONNX Runtime. When PyTorch is importable it trains the same
small-cnn in PyTorch on the same thread count, side by side, and prints the
ratio; the reference measurement on these machines is 14.9 steps/s.

usage: posterior_bench.py BIN_DIR WORK_DIR THREADS"""
import os
import re
import subprocess
import sys
import time


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{cmd[0]} failed: {r.stderr}")
    return r.stderr


def torch_steps_per_s(threads: int, steps: int = 40):
    try:
        import torch
        import torch.nn as nn
    except ImportError:
        return None
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(4, 32, 3, padding=1), nn.ReLU(),
        nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(64, 64, 3, stride=2, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(64 * 8 * 8, 32 * 32))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.randint(0, 2, (64, 4, 32, 32)).float() * 2 - 1
    t = torch.softmax(torch.randn(64, 1024), 1)
    for i in range(steps + 5):
        if i == 5:
            t0 = time.perf_counter()
        opt.zero_grad()
        loss = -(t * torch.log_softmax(net(x), 1)).sum(1).mean()
        loss.backward()
        opt.step()
    return steps / (time.perf_counter() - t0)


def main(bins: str, work: str, threads: int) -> None:
    os.makedirs(work, exist_ok=True)
    data, bundles = f"{work}/ising.parquet", f"{work}/bundles.parquet"
    if not os.path.exists(bundles):
        run([f"{bins}/gen-ising", "--n", "4000", "--L", "32", "--sweeps", "200", "--seed", "1", "-o", data, "-q"])
        run([f"{bins}/bundle-knn", "-i", data, "-o", bundles, "--grid", "32x32", "--sigma", "0.02", "-q"])
    rates = {}
    for arch in ["small-cnn", "unet"]:
        best = 0.0
        for _ in range(2):
            err = run([f"{bins}/fit-posterior", "--bundles", bundles, "--steps", "60", "--batch", "64",
                       "--arch", arch, "--eval-every", "1000", "--threads", str(threads), "--predict-limit", "1",
                       "--out-model", f"{work}/{arch}.onnx", "--out-posteriors", f"{work}/{arch}.parquet"])
            best = max(best, float(re.search(r"at ([0-9.]+) steps/s", err).group(1)))
        rates[arch] = best
        print(f"fit-posterior {arch:<9} batch 64, L=32, grid 32x32, {threads} threads: {best:.2f} steps/s (whole tool)")
    t0 = time.perf_counter()
    run([f"{bins}/fit-posterior", "--predict-only", "--model", f"{work}/unet.onnx", "--bundles", bundles,
         "--out-posteriors", f"{work}/pred.parquet", "--threads", str(threads)])
    dt = time.perf_counter() - t0
    print(f"prediction through ONNX Runtime (U-Net, 4000 bundles incl. loading): {4000 / dt:.0f} bundles/s")
    torch_rate = torch_steps_per_s(threads)
    if torch_rate is None:
        print("PyTorch not importable: reference on these machines is 14.9 steps/s for small-cnn "
              f"-> phasekit/PyTorch = {rates['small-cnn'] / 14.9:.2f}x (target >= 0.35x)")
    else:
        print(f"PyTorch small-cnn, {threads} threads: {torch_rate:.2f} steps/s "
              f"-> phasekit/PyTorch = {rates['small-cnn'] / torch_rate:.2f}x (target >= 0.35x)")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
