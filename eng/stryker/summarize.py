#!/usr/bin/env python3
"""Per-file scores and the surviving mutants of Stryker.NET JSON reports (eng/mutation.sh --summary NAME...).

Score = (killed + timeout) / (killed + timeout + survived + no coverage), as Stryker computes it; compile errors and
ignored mutants are not counted. With several reports, files are merged and a folder total is printed per top-level
folder of Gatehouse.Core."""
import collections
import json
import sys

COUNTED = ("Killed", "Timeout", "Survived", "NoCoverage")


def main(paths):
    files = {}
    for path in paths:
        report = json.load(open(path, encoding="utf-8"))
        for name, data in report["files"].items():
            short = name.split("/src/Gatehouse.Core/", 1)[-1]
            files[short] = data

    folders = collections.defaultdict(collections.Counter)
    print("| file | killed (+timeout) | survived | no coverage | score |")
    print("|---|---:|---:|---:|---:|")
    for name in sorted(files):
        counts = collections.Counter(m["status"] for m in files[name]["mutants"])
        total = sum(counts[s] for s in COUNTED)
        if total == 0:
            continue
        folders[name.split("/", 1)[0]].update({s: counts[s] for s in COUNTED})
        detected = counts["Killed"] + counts["Timeout"]
        timeout = f" + {counts['Timeout']}" if counts["Timeout"] else ""
        print(f"| `{name}` | {counts['Killed']}{timeout} | {counts['Survived']} | {counts['NoCoverage']} | {100 * detected / total:.1f} % |")
    for folder, counts in sorted(folders.items()):
        total = sum(counts[s] for s in COUNTED)
        detected = counts["Killed"] + counts["Timeout"]
        print(f"| **{folder}/** | **{detected}** | **{counts['Survived']}** | **{counts['NoCoverage']}** | **{100 * detected / total:.2f} %** |")

    print()
    for name in sorted(files):
        source = files[name]["source"].split("\n")
        for mutant in sorted(files[name]["mutants"], key=lambda m: m["location"]["start"]["line"]):
            if mutant["status"] not in ("Survived", "NoCoverage"):
                continue
            line = mutant["location"]["start"]["line"]
            text = source[line - 1].strip()[:100] if line <= len(source) else ""
            replacement = (mutant.get("replacement") or "").replace("\n", " ")[:70]
            print(f"{mutant['status']:10} {name}:{line} {mutant['mutatorName']} | {text} => {replacement}")


if __name__ == "__main__":
    main(sys.argv[1:])
