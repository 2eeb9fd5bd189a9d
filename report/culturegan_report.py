#!/usr/bin/env python3
"""culturegan-report RUN_DIR [-o RUN_DIR/report.html]: one self-contained HTML page of a run
(summary and exit reason, resolved config, loss curves, eval metrics, sample grids, the newest
confusion matrix, checkpoints) that opens offline. docs/report.md.

Reads only the run directory (report/run_dir.py), plots with matplotlib as SVG
(report/plots.py), writes the page (report/page.py) to a temp file and renames it over the
output, so a browser never sees half a page. A missing or damaged file never stops it: the
page says what is missing. culturegan-train runs it on rank 0 every report.every steps and at
the end. Exit codes: 0 written; 1 the page could not be written; 2 bad arguments.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from run_dir import read_run  # noqa: E402


def build_page(run_dir, smooth=0, max_grids=None):
    """(RunData, page text) for run_dir."""
    import page
    import plots

    run = read_run(run_dir)
    loss = plots.loss_svg(run.losses, smooth) if run.losses else None
    ev = plots.eval_svg(run.evals) if run.evals else None
    text = page.render(run, loss, ev, max_grids=max_grids or page.MAX_GRIDS)
    return run, text


def write_atomically(path, text):
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def main(argv=None):
    ap = argparse.ArgumentParser(prog="culturegan-report", description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", metavar="RUN_DIR", help="a culturegan-train run.dir")
    ap.add_argument("-o", "--output", help="the HTML file (default RUN_DIR/report.html)")
    ap.add_argument("--smooth", type=int, default=0,
                    help="moving-average window in steps (0 = about 1/40 of the run, 5..200)")
    ap.add_argument("--max-grids", type=int, default=0, help="sample grids embedded (default 40)")
    ap.add_argument("--nice", type=int, default=0,
                    help="lower this process's priority by N first (the trainer passes 10)")
    args = ap.parse_args(argv)
    if not os.path.isdir(args.run_dir):
        print(f"culturegan-report: error: {args.run_dir}: not a directory", file=sys.stderr)
        return 2
    if args.nice > 0:
        try:
            os.nice(args.nice)
        except OSError:
            pass
    out = args.output or os.path.join(args.run_dir, "report.html")
    t0 = time.monotonic()
    try:
        run, text = build_page(args.run_dir, args.smooth, args.max_grids)
    except ImportError as e:
        print(f"culturegan-report: error: {e}: it needs Debian's python3-matplotlib and python3-pil "
              f"(scripts/install-deps.sh) under /usr/bin/python3; this is {sys.executable}", file=sys.stderr)
        return 1
    try:
        write_atomically(out, text)
    except OSError as e:
        print(f"culturegan-report: error: cannot write {out}: {e}", file=sys.stderr)
        return 1
    print(f"culturegan-report: wrote {out} ({len(text) / 1e6:.2f} MB, {time.monotonic() - t0:.2f} s; "
          f"{len(run.notes)} note(s) on missing data)")
    for n in run.notes:
        print(f"culturegan-report: note: {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
