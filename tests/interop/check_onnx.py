"""Check an ONNX model written by phasekit: onnx.checker (full check) and the
same numbers from Python's onnxruntime as from phasekit's Rust runtime.

usage: check_onnx.py MODEL.onnx IO.json
IO.json: {"inputs": {name: {"shape": [...], "data": [...], "dtype": "float32"|"int64"}}, "outputs": {...}}
"""
import json
import sys

import numpy as np
import onnx
import onnxruntime as ort


def main(model_path: str, io_path: str) -> None:
    model = onnx.load(model_path)
    onnx.checker.check_model(model, full_check=True)
    assert model.opset_import[0].version >= 17, model.opset_import
    meta = {p.key: p.value for p in model.metadata_props}
    io = json.load(open(io_path))
    sess = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    feeds = {
        name: np.asarray(v["data"], dtype=v.get("dtype", "float32")).reshape(v["shape"])
        for name, v in io["inputs"].items()
    }
    got = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))
    worst = 0.0
    for name, v in io["outputs"].items():
        rust = np.asarray(v["data"], dtype=np.float32).reshape(v["shape"])
        assert got[name].shape == rust.shape, (name, got[name].shape, rust.shape)
        diff = float(np.max(np.abs(got[name] - rust)))
        worst = max(worst, diff)
        assert diff <= 1e-5 * (1 + float(np.max(np.abs(rust)))), (name, diff)
    print(f"onnx.checker passed; metadata {sorted(meta)}; max |python - rust| = {worst:.3g}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
