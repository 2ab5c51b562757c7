"""Split the training corpus into a training part and a fixed held-out part, as symlink folders.

The held-out part is chosen by a hash of each file name (stable whatever else is in the folder) and
never includes a file from DOUBTFUL.txt, so its sheets can be shown in the docs. Nothing is copied:
both parts are folders of symbolic links, which the folder source follows.

  python tools/corpus_split.py --corpus ../shared/corpus --out /work/runs/corpus --held-out 14
"""

from __future__ import annotations

import argparse
import hashlib
import os
from pathlib import Path


def doubtful_names(corpus: Path) -> set[str]:
    listing = corpus / "DOUBTFUL.txt"
    if not listing.is_file():
        return set()
    lines = [line.split("\t")[0] for line in listing.read_text().splitlines() if line and not line.startswith("#")]
    return {Path(line).name for line in lines}


def held_out(names: list[str], count: int, excluded: set[str]) -> list[str]:
    """The `count` names with the smallest sha256, among those not excluded."""
    ranked = sorted((hashlib.sha256(name.encode()).hexdigest(), name) for name in names if name not in excluded)
    return sorted(name for _, name in ranked[:count])


def link_folder(folder: Path, source: Path, names: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        link = folder / name
        if not link.is_symlink():
            link.symlink_to(os.path.abspath(source / name))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path("../shared/corpus"), help="corpus with content/ and style/")
    parser.add_argument("--out", type=Path, required=True, help="writes OUT/{train,heldout}/{content,style}")
    parser.add_argument("--held-out", type=int, default=14, help="held-out images of each kind (default 14)")
    args = parser.parse_args()
    excluded = doubtful_names(args.corpus)
    for kind in ("content", "style"):
        names = sorted(p.name for p in (args.corpus / kind).iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
        test = held_out(names, args.held_out, excluded)
        link_folder(args.out / "heldout" / kind, args.corpus / kind, test)
        link_folder(args.out / "train" / kind, args.corpus / kind, sorted(set(names) - set(test)))
        print(f"{kind}: {len(names) - len(test)} train, {len(test)} held out: {', '.join(test)}")


if __name__ == "__main__":
    main()
