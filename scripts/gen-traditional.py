#!/usr/bin/env python3
"""Writes data/admin-divisions/traditional.csv: traditional → simplified characters for
every character that occurs in a place name (and in the words addresses and carrier
lines use around them), from OpenCC's TSCharacters dictionary (Apache-2.0).

    pip install opencc-python-reimplemented && scripts/gen-traditional.py

The service never runs this; it reads the CSV it writes.
"""
import csv, os, sys
import opencc

root = os.path.join(os.path.dirname(__file__), "..")
data = os.path.join(root, "data", "admin-divisions")
wanted = set("省市区县镇乡街道路号村巷弄栋楼单元室自治州盟旗新开发园湾桥中心分拨转运站快递件收签拒退回派送揽运输达离开发往已正在安检过机驿代柜丰巢")
for name in ["provinces.csv", "cities.csv", "areas.csv", "historic.csv", "beyond-mainland.csv"]:
    with open(os.path.join(data, name), encoding="utf-8") as f:
        for row in csv.DictReader(f):
            wanted.update(row["name"])
            wanted.update(row.get("parts", ""))
dictionary = os.path.join(os.path.dirname(opencc.__file__), "dictionary", "TSCharacters.txt")
pairs = []
with open(dictionary, encoding="utf-8") as f:
    for line in f:
        trad, simps = line.rstrip("\n").split("\t")
        simp = simps.split(" ")[0]
        if trad != simp and simp in wanted and len(trad) == 1:
            pairs.append((trad, simp))
pairs.sort()
with open(os.path.join(data, "traditional.csv"), "w", encoding="utf-8", newline="") as f:
    f.write("traditional,simplified\n")
    for t, s in pairs:
        f.write(f"{t},{s}\n")
print(f"{len(pairs)} pairs", file=sys.stderr)
