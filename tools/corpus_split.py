"""Split the training corpus into training, held-out and colour-stress parts, as folders of symbolic links.

- held-out: 14 photos and 14 paintings chosen by a hash of the file name (stable whatever else is in the
  folder; the shipped models before the colour work were measured on exactly these), topped up so that
  every kind of painting (`adain.quality.colour.painting_kind`: flat_saturated, saturated, muted, dark,
  monochrome) has at least `--per-kind` paintings. The first split had one flat saturated painting and
  showed none of the failure users met on posters.
- stress: the colour stress set of issue 21: the corpus' flat saturated paintings not already held out,
  synthetic flat posters (`adain.data.synthetic`, seeds from 10000), and the brightest, darkest and
  snowiest photos (sky, snow, night scenes), so that bleaching and blown highlights show.
- train: everything else, plus `--posters` synthetic posters (seeds from 0) in train/style/posters/.
No held-out or stress file comes from DOUBTFUL.txt, so their sheets can be shown in the docs. Nothing is
copied except the generated posters; OUT/kinds.tsv lists every file with its kind and part.

  python tools/corpus_split.py --corpus ../shared/corpus --out data/corpus
"""

from __future__ import annotations

import argparse
import hashlib
import os
from pathlib import Path

import numpy as np
from PIL import Image

from adain.data.synthetic import flat_poster
from adain.quality.colour import PAINTING_KINDS, colour_statistics, painting_kind

STRESS_POSTER_SEED = 10_000


def doubtful_names(corpus: Path) -> set[str]:
    listing = corpus / "DOUBTFUL.txt"
    if not listing.is_file():
        return set()
    lines = [line.split("\t")[0] for line in listing.read_text().splitlines() if line and not line.startswith("#")]
    return {Path(line).name for line in lines}


def hash_ranked(names: list[str], excluded: set[str]) -> list[str]:
    """Names not excluded, in the order of their sha256 (the held-out order)."""
    return [name for _, name in sorted((hashlib.sha256(n.encode()).hexdigest(), n) for n in names if n not in excluded)]


def link_folder(folder: Path, source: Path, names: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        link = folder / name
        if not link.is_symlink():
            link.symlink_to(os.path.abspath(source / name))


def thumbnail(path: Path, size: int = 256) -> np.ndarray:
    with Image.open(path) as image:
        image = image.convert("RGB")
        image.thumbnail((size, size))
        return np.asarray(image)


def write_posters(folder: Path, count: int, first_seed: int, size: int = 512) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for seed in range(first_seed, first_seed + count):
        name = f"poster_{seed:05d}.png"
        if not (folder / name).is_file():
            Image.fromarray(flat_poster(size, seed)).save(folder / name)
        names.append(name)
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path("../shared/corpus"), help="corpus with content/ and style/")
    parser.add_argument("--out", type=Path, required=True, help="writes OUT/{train,heldout,stress}/{content,style}")
    parser.add_argument(
        "--held-out", type=int, default=14, help="hash-chosen held-out images of each kind (default 14)"
    )
    parser.add_argument("--per-kind", type=int, default=3, help="held-out paintings of every kind at least (default 3)")
    parser.add_argument(
        "--posters", type=int, default=48, help="synthetic posters among the training styles (default 48)"
    )
    parser.add_argument("--stress-posters", type=int, default=6, help="synthetic posters in the stress set (default 6)")
    args = parser.parse_args()
    excluded = doubtful_names(args.corpus)
    listing = ["file\tkind\tpart"]
    names = {
        kind: sorted(p.name for p in (args.corpus / kind).iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
        for kind in ("content", "style")
    }
    stats = {kind: {n: colour_statistics(thumbnail(args.corpus / kind / n)) for n in names[kind]} for kind in names}
    kinds = {n: painting_kind(thumbnail(args.corpus / "style" / n)) for n in names["style"]}

    held = {kind: hash_ranked(names[kind], excluded)[: args.held_out] for kind in names}
    for kind_name in PAINTING_KINDS:
        have = [n for n in held["style"] if kinds[n] == kind_name]
        candidates = [n for n in hash_ranked(names["style"], excluded | set(held["style"])) if kinds[n] == kind_name]
        held["style"] += candidates[: max(0, args.per_kind - len(have))]

    free = {kind: [n for n in names[kind] if n not in excluded and n not in held[kind]] for kind in names}
    stress_style = [n for n in free["style"] if kinds[n] == "flat_saturated"]
    photo = stats["content"]
    brightest = sorted(free["content"], key=lambda n: -photo[n]["value"])[:3]
    darkest = sorted(free["content"], key=lambda n: photo[n]["value"])[:3]
    snowy = sorted(
        (n for n in free["content"] if n not in brightest and photo[n]["saturation"] < 0.2),
        key=lambda n: -photo[n]["value"],
    )[:2]
    stress = {"content": brightest + darkest + snowy, "style": stress_style}

    for kind in ("content", "style"):
        train = sorted(set(names[kind]) - set(held[kind]) - set(stress[kind]))
        link_folder(args.out / "heldout" / kind, args.corpus / kind, sorted(held[kind]))
        link_folder(args.out / "stress" / kind, args.corpus / kind, sorted(stress[kind]))
        link_folder(args.out / "train" / kind, args.corpus / kind, train)
        for part, part_names in (("train", train), ("heldout", held[kind]), ("stress", stress[kind])):
            listing += [f"{kind}/{n}\t{kinds.get(n, 'photo')}\t{part}" for n in sorted(part_names)]
        print(f"{kind}: {len(train)} train, {len(held[kind])} held out, {len(stress[kind])} stress")
    posters = write_posters(args.out / "train" / "style" / "posters", args.posters, 0)
    stress_posters = write_posters(args.out / "stress" / "style", args.stress_posters, STRESS_POSTER_SEED)
    listing += [f"style/posters/{n}\tflat_saturated\ttrain" for n in posters]
    listing += [f"style/{n}\tflat_saturated\tstress" for n in stress_posters]
    (args.out / "kinds.tsv").write_text("\n".join(listing) + "\n")
    counts = {k: sum(kinds[n] == k for n in held["style"]) for k in PAINTING_KINDS}
    print(
        f"held-out paintings by kind: {counts}; {len(posters)} training posters, {len(stress_posters)} stress posters"
    )


if __name__ == "__main__":
    main()
