#!/usr/bin/env python3
"""Assembles docs/results.md from the tables that docs/results/run-all.sh writes into
geoflow-out/results/ (tables are copied verbatim; the prose around them is in this file)."""
import pathlib, re, sys

root = pathlib.Path(__file__).resolve().parents[2]
o = root / "geoflow-out" / "results"

def table(name):
    p = o / name / "results.md"
    if not p.exists():
        return f"(not run: {p.relative_to(root)} is missing)\n"
    t = p.read_text()
    # Figures are copied next to this document.
    t = re.sub(r"Figure: .*", "", t).rstrip() + "\n"
    return t

def fig(name):
    src = o / name / "samples.svg"
    if src.exists():
        dst = root / "docs" / "results" / f"{name}.svg"
        dst.write_bytes(src.read_bytes())
        return f"\n![{name}: data (grey) vs samples (red) at 1, 2, 4 steps and RFM at 1 and 100 steps](results/{name}.svg)\n"
    return ""

def raw(name):
    p = o / name
    return p.read_text() if p.exists() else f"(not run: {name} missing)\n"

def rows(name):
    p = o / name / "results.md"
    out = {}
    if not p.exists():
        return out
    for line in p.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 6 and cells[0] in ("rfm", "lsd", "esd", "psd", "mf"):
            try:
                out[cells[0]] = [float(c) for c in cells[1:5]] + [cells[5]]
            except ValueError:
                pass
    return out

def summary():
    t = ["| dataset | RFM 1 step | RFM 100 steps | G-LSD 1 step | G-LSD 1 step vs RFM 1 step | G-LSD 1 step / RFM 100 steps |",
         "|---|---:|---:|---:|---:|---:|"]
    for name in ["volcano", "earthquake", "flood", "fire", "rna", "hyperbolic-mixture"]:
        r = rows(name)
        if "rfm" in r and "lsd" in r:
            a, b, c = r["rfm"][0], r["rfm"][3], r["lsd"][0]
            ok1 = "✓" if a / c >= 5 else "✗"
            ok2 = "✓" if c / b <= 1.5 else "✗"
            t.append(f"| {name} | {a:.4f} | {b:.4f} | {c:.4f} | {a / c:.1f}× better {ok1} | {c / b:.2f} {ok2} |")
    return "\n".join(t) + "\n"

parts = [pathlib.Path(root / "docs" / "results" / "head.md").read_text().replace("{{SUMMARY}}", summary())]
sections = [
    ("volcano", "Volcano (S², 827 events, 267 distinct locations)"),
    ("earthquake", "Earthquake (S², 6 120 events)"),
    ("flood", "Flood (S², 4 875 events)"),
    ("fire", "Fire (S², 12 809 events)"),
    ("rna", "RNA torsions (T⁷, 9 478 nucleotides)"),
    ("hyperbolic-mixture", "Hyperbolic wrapped-normal mixture (H², Lorentz model, exact density)"),
]
for name, title in sections:
    parts.append(f"\n### {title}\n\n```sh\ngeoflow compare --data {name} --methods rfm,lsd,esd,psd,mf --train-steps 3000 --kde\n```\n\n")
    parts.append(table(name))
    parts.append(fig(name))
parts.append((root / "docs" / "results" / "budget.md").read_text())
for name in ["volcano-rfm12k", "fire-rfm12k"]:
    d = name.split("-")[0]
    parts.append(f"\n```sh\ngeoflow compare --data {d} --methods rfm --train-steps 12000 --kde\n```\n\n")
    parts.append(table(name))
parts.append((root / "docs" / "results" / "fisher.md").read_text())
parts.append(raw("fisher/table.md"))
src = o / "fisher" / "kl.svg"
if src.exists():
    (root / "docs" / "results" / "fisher-kl.svg").write_bytes(src.read_bytes())
    parts.append("\n![KL vs number of classes](results/fisher-kl.svg)\n")
parts.append((root / "docs" / "results" / "tail.md").read_text())
parts.append(raw("accuracy.md"))
(root / "docs" / "results.md").write_text("".join(parts))
print("wrote docs/results.md")
