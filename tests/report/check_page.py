"""Checks a culturegan-report page in headless Chromium (Debian's `chromium`):

  * a screenshot (--screenshot) is not blank: at least 20 colours and > 0.5 % non-white pixels;
  * through the DOM (--dump-dom, after the page's own script has filled <pre id="selfcheck">
    on load): every section exists, the loss plot has one series per loss term of the run's
    metrics.jsonl (read here, independently of the report), and every <img> decoded
    (naturalWidth > 0), as many as the run has sample grids.

    /usr/bin/python3 tests/report/check_page.py PAGE.html RUN_DIR [--screenshot OUT.png]

Exit 0 when every check passes, 1 (listing the failures) otherwise. check() is what
test_report_run.py calls.
"""
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

SECTIONS = ["summary", "config", "losses", "eval", "samples", "confusion", "checkpoints"]


def chromium():
    for name in ("chromium", "chromium-browser"):
        p = shutil.which(name)
        if p:
            return p
    return None


def _run_chromium(args, timeout=120):
    exe = chromium()
    if not exe:
        raise RuntimeError("chromium is not installed (scripts/install-deps.sh installs it)")
    profile = tempfile.mkdtemp(prefix="culturegan-chromium-")
    try:
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
               "--hide-scrollbars", "--no-first-run", "--mute-audio"] + args
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, text=True)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def loss_terms(run_dir):
    """The loss terms in RUN_DIR/metrics.jsonl (every key but step and eval.*), skipping lines
    that are not JSON."""
    terms = set()
    p = os.path.join(run_dir, "metrics.jsonl")
    if not os.path.exists(p):
        return terms
    for line in open(p, encoding="utf-8", errors="replace"):
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict):
            terms.update(k for k in row if k != "step" and not k.startswith("eval."))
    return terms


def sample_grids(run_dir):
    d = os.path.join(run_dir, "samples")
    if not os.path.isdir(d):
        return 0
    return sum(1 for f in os.listdir(d) if re.match(r"^(step-\d+|final)\.png$", f))


def selfcheck(page):
    """The page's self-check JSON, read from Chromium's DOM after load."""
    url = "file://" + os.path.abspath(page)
    r = _run_chromium(["--virtual-time-budget=10000", "--dump-dom", url])
    m = re.search(r'<pre id="selfcheck"[^>]*>(.*?)</pre>', r.stdout, re.S)
    if not m:
        raise RuntimeError(f"no <pre id=\"selfcheck\"> in Chromium's DOM (exit {r.returncode}): "
                           f"{r.stdout[:300]!r} {r.stderr[-500:]!r}")
    text = html.unescape(m.group(1)).strip()
    if not text:
        raise RuntimeError("the page's self-check script did not run (empty <pre id=\"selfcheck\">)")
    return json.loads(text)


def screenshot(page, out, size=(1320, 2400)):
    url = "file://" + os.path.abspath(page)
    r = _run_chromium([f"--window-size={size[0]},{size[1]}", f"--screenshot={os.path.abspath(out)}", url])
    if not os.path.exists(out):
        raise RuntimeError(f"chromium wrote no screenshot (exit {r.returncode}): {r.stderr[-500:]}")


def blank_reason(png):
    """None if the screenshot shows something, else why it looks blank."""
    from PIL import Image
    im = Image.open(png).convert("RGB")
    small = im.resize((im.width // 4, im.height // 4))
    colours = small.getcolors(1 << 20)
    n_colours = len(colours) if colours else 1 << 20
    px = list(im.convert("L").getdata())
    ink = sum(1 for v in px if v < 235) / len(px)
    if n_colours < 20 or ink < 0.005:
        return f"looks blank: {n_colours} colours, {ink:.1%} non-white pixels"
    return None


def check(page, run_dir, shot=None, expect_grids=None):
    """The failures (list of strings; empty = pass) of PAGE against RUN_DIR."""
    failures = []
    shot = shot or os.path.splitext(page)[0] + ".png"
    try:
        screenshot(page, shot)
        why = blank_reason(shot)
        if why:
            failures.append(f"screenshot {shot} {why}")
    except RuntimeError as e:
        failures.append(str(e))
    try:
        sc = selfcheck(page)
    except (RuntimeError, ValueError) as e:
        return failures + [str(e)]
    missing = [s for s in SECTIONS if s not in sc["sections"]]
    if missing:
        failures.append(f"sections missing from the DOM: {missing} (found {sc['sections']})")
    want = loss_terms(run_dir)
    got = sc["loss_series"]
    if len(got) != len(set(got)) or set(got) != want:
        failures.append(f"loss plot series {sorted(got)} != the loss terms of metrics.jsonl {sorted(want)}")
    bad = [i for i in sc["images"] if not i["naturalWidth"] > 0]
    if bad:
        failures.append(f"images that did not decode: {bad}")
    n = sample_grids(run_dir) if expect_grids is None else expect_grids
    if len(sc["images"]) != n:
        failures.append(f"{len(sc['images'])} <img> in the page, {n} sample grids in the run")
    return failures


def main():
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("page")
    ap.add_argument("run_dir")
    ap.add_argument("--screenshot")
    a = ap.parse_args()
    f = check(a.page, a.run_dir, a.screenshot)
    for x in f:
        print(f"FAIL: {x}")
    print("PASS" if not f else f"{len(f)} check(s) failed")
    return 1 if f else 0


if __name__ == "__main__":
    sys.exit(main())
