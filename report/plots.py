"""The report's plots, drawn by matplotlib as SVG text to inline in the page (no JS, no fonts
to fetch: glyphs are paths). Every Line2D carries a gid, so the page's DOM (and the tests)
can find each series: loss-series-<term> (moving average) and loss-raw-<term> in the loss
plot, eval-<panel>-<key> in the eval plot. Output is deterministic (svg.hashsalt, no date).
"""
import io
import math
import re

import matplotlib

matplotlib.use("svg")
from matplotlib.figure import Figure  # noqa: E402

from run_dir import moving_average  # noqa: E402

matplotlib.rcParams.update({
    "svg.fonttype": "path",
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
})

MAX_POINTS = 1200  # per line: longer series are thinned (after smoothing) to keep the SVG small
PHASE_COLOURS = {"D_main": "#1f77b4", "D_reg": "#9467bd", "G_main": "#d62728"}


def _thin(steps, values):
    if len(steps) <= MAX_POINTS:
        return steps, values
    k = math.ceil(len(steps) / MAX_POINTS)
    idx = list(range(0, len(steps), k))
    if idx[-1] != len(steps) - 1:
        idx.append(len(steps) - 1)
    return [steps[i] for i in idx], [values[i] for i in idx]


def _svg(fig, name):
    """The figure as an <svg> element whose ids are prefixed with `name`- (so several SVGs
    can share one page) except the gids set here, which already carry their prefix."""
    matplotlib.rcParams["svg.hashsalt"] = f"culturegan-report-{name}"
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": "culturegan-report"})
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    mine = (f"{name}-",)

    def fix_id(m):
        v = m.group(2)
        return m.group(0) if v.startswith(mine) else f'{m.group(1)}"{name}-{v}"'

    text = re.sub(r'(\bid=)"([^"]+)"', fix_id, text)
    text = re.sub(r'(xlink:href|href)="#([^"]+)"',
                  lambda m: m.group(0) if m.group(2).startswith(mine) else f'{m.group(1)}="#{name}-{m.group(2)}"',
                  text)
    text = re.sub(r'url\(#([^)]+)\)',
                  lambda m: m.group(0) if m.group(1).startswith(mine) else f"url(#{name}-{m.group(1)})", text)
    return text.replace("<svg ", f'<svg id="plot-{name}" role="img" ', 1)


def _grid(n, cols):
    cols = max(1, min(cols, n))
    return (n + cols - 1) // cols, cols


def default_window(n):
    """Moving-average window for a series of n steps: about 1/40 of it, 5..200 steps."""
    return max(5, min(200, n // 40))


def loss_svg(losses, window=0):
    """One panel per loss term (sorted: phase, then term): raw values thin and grey, the
    trailing moving average (window steps; 0 = default_window) in the phase's colour. A term
    whose values are all > 0 and span more than 3 decades gets a log axis."""
    names = sorted(losses)
    rows, cols = _grid(len(names), 4)
    fig = Figure(figsize=(3.1 * cols, 2.2 * rows), layout="constrained")
    for i, name in enumerate(names):
        ax = fig.add_subplot(rows, cols, i + 1)
        s = losses[name]
        steps, vals = s.steps, s.values
        w = window or default_window(len(steps))
        ma = moving_average(vals, w)
        ts, tv = _thin(steps, vals)
        ms, mv = _thin(steps, ma)
        colour = PHASE_COLOURS.get(name.split(".")[0], "#2ca02c")
        ax.plot(ts, tv, color="#b0b0b0", linewidth=0.6, gid=f"loss-raw-{name}")
        ax.plot(ms, mv, color=colour, linewidth=1.4, gid=f"loss-series-{name}", label=f"mean of {w}")
        finite = [v for v in vals if math.isfinite(v)]
        if finite and min(finite) > 0 and max(finite) / min(finite) > 1e3:
            ax.set_yscale("log")
        bad = s.non_finite()
        ax.set_title(name + (f"  ({bad} non-finite)" if bad else ""))
        ax.legend(loc="upper right", frameon=False, fontsize=7, handlelength=1.2)
        if i // cols == rows - 1:
            ax.set_xlabel("step")
    return _svg(fig, "loss")


# The eval panels: title, keys (a trailing "*" matches a prefix), y label.
EVAL_PANELS = [
    ("acc", "target-culture accuracy (classifier)",
     ["eval.target_accuracy.*", "eval.target_accuracy_mean", "eval.classifier_val_accuracy"], "accuracy"),
    ("content", "content kept (vs. the photo)",
     ["eval.content_gradient_correlation", "eval.content_gray_ssim", "eval.cycle_ssim"], "score"),
    ("kid", "KID (classifier features)", ["eval.kid", "eval.kid_floor"], "KID"),
    ("checker", "checkerboard index", ["eval.checkerboard_index"], "index"),
    ("fid", "FID (classifier features)", ["eval.fid"], "FID"),
    ("psnr", "cycle PSNR", ["eval.cycle_psnr_db"], "dB"),
    ("diversity", "diversity over strengths", ["eval.diversity"], "distance"),
    ("seconds", "eval time", ["eval.seconds"], "s"),
]
_STYLE = {
    "eval.target_accuracy_mean": dict(color="black", linewidth=2.0, label="mean"),
    "eval.classifier_val_accuracy": dict(color="black", linestyle="--", linewidth=1.0,
                                         label="ceiling (real val)"),
    "eval.kid_floor": dict(color="grey", linestyle="--", label="floor (real val vs train)"),
}


def eval_panels(evals):
    """[(panel id, title, [keys], y label)] for the keys present; a key no panel names gets
    its own panel, so every eval.* key is drawn."""
    used, out = set(), []
    for pid, title, patterns, ylabel in EVAL_PANELS:
        keys = []
        for p in patterns:
            if p.endswith("*"):
                keys += sorted(k for k in evals if k.startswith(p[:-1]) and k not in used)
            elif p in evals:
                keys.append(p)
        used.update(keys)
        if keys:
            out.append((pid, title, keys, ylabel))
    for k in sorted(set(evals) - used):
        out.append((re.sub(r"[^A-Za-z0-9_]", "_", k), k, [k], ""))
    return out


def eval_svg(evals):
    """The eval.* metrics over steps, one panel per measure (EVAL_PANELS)."""
    panels = eval_panels(evals)
    rows, cols = _grid(len(panels), 4)
    fig = Figure(figsize=(3.1 * cols, 2.4 * rows), layout="constrained")
    for i, (pid, title, keys, ylabel) in enumerate(panels):
        ax = fig.add_subplot(rows, cols, i + 1)
        for k in keys:
            s = evals[k]
            style = dict(_STYLE.get(k, {}))
            style.setdefault("label", k.replace("eval.target_accuracy.", "").replace("eval.", ""))
            style.setdefault("linewidth", 1.2)
            ax.plot(s.steps, s.values, marker="o", markersize=2.5, gid=f"eval-{pid}-{k}", **style)
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        if len(keys) > 1:
            ax.legend(fontsize=6, frameon=False, loc="best")
        if i // cols == rows - 1:
            ax.set_xlabel("step")
    return _svg(fig, "eval")
