"""`python -m bench.stacks FILE [N]`: the N functions where a py-spy collapsed-stack profile spends most time,
inclusive (the function or anything it calls) and exclusive (the function itself)."""

import sys
from collections import Counter


def top(path: str, count: int = 25) -> str:
    inclusive, exclusive, total = Counter(), Counter(), 0
    for line in open(path):
        stack, _, samples = line.rstrip().rpartition(" ")
        if not samples.isdigit():
            continue
        frames = stack.split(";")
        weight = int(samples)
        total += weight
        for frame in set(frames):
            inclusive[frame] += weight
        exclusive[frames[-1]] += weight
    lines = [f"{total} samples", "inclusive:"]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in inclusive.most_common(count)]
    lines += ["exclusive:"]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in exclusive.most_common(count)]
    return "\n".join(lines)


if __name__ == "__main__":
    print(top(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 25))
