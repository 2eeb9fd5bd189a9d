"""The report page: one self-contained HTML file (inline CSS, inline SVG plots, images as
data: URIs, a few lines of inline script for the sample-grid slider and the self-check).
Nothing is fetched, so it opens offline after `scp`.

Sections (each a <section id=...>, always present; an empty one says what is missing):
summary, config, losses, eval, samples, confusion, checkpoints. The <pre id="selfcheck">
is filled on load with JSON: the sections found, the loss plot's series, and each image's
naturalWidth (tests/report/check_page.py reads it through headless Chromium).
"""
import base64
import datetime
import html
import io
import math
import os

from PIL import Image

from run_dir import exit_reason, format_duration

SECTIONS = ["summary", "config", "losses", "eval", "samples", "confusion", "checkpoints"]
MAX_GRIDS = 40         # sample grids embedded: evenly spaced, always the newest and final.png
JPEG_ABOVE = 200_000   # grids whose PNG is larger than this many bytes are embedded as JPEG

CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "DejaVu Sans", sans-serif; margin: 0 auto;
       max-width: 1320px; padding: 12px 20px 40px; color: #222; background: #fff; }
h1 { font-size: 22px; margin: 6px 0 2px; } h2 { font-size: 17px; margin: 26px 0 8px;
     border-bottom: 1px solid #ddd; padding-bottom: 3px; }
.sub { color: #666; font-size: 12px; }
.notes { background: #fff8e1; border: 1px solid #f0d98c; padding: 6px 12px; margin: 12px 0; }
.notes li { margin: 2px 0; } .missing { color: #8a6d00; font-style: italic; }
table { border-collapse: collapse; } td, th { padding: 3px 10px; border-bottom: 1px solid #eee;
       text-align: left; font-variant-numeric: tabular-nums; }
th { background: #f6f6f6; } td.num, th.num { text-align: right; }
.kv td:first-child { color: #555; }
.reason-finished { color: #1b7a1b; font-weight: 600; } .reason-failed { color: #b00020; font-weight: 600; }
.reason-preempted, .reason-time_budget, .reason-running { color: #8a5a00; font-weight: 600; }
pre { background: #f7f7f7; padding: 8px 12px; overflow: auto; font-size: 12px; }
svg { max-width: 100%; height: auto; }
.grids img { image-rendering: pixelated; max-width: 100%; height: auto; display: block; margin: 4px 0 14px; }
.grids.js img { display: none; } .grids.js img.shown { display: block; }
#grid-label { font-weight: 600; margin-left: 10px; } input[type=range] { width: 60%; }
.cm td { text-align: right; min-width: 34px; } .cm th.rot { font-size: 11px; }
"""

# Slider over the sample grids, and the self-check the tests read through the DOM.
SCRIPT = """
(function () {
  var box = document.getElementById('grids');
  var slider = document.getElementById('grid-slider');
  if (box && slider) {
    var imgs = box.querySelectorAll('img');
    box.classList.add('js');
    slider.hidden = false;
    var show = function () {
      imgs.forEach(function (im, i) { im.classList.toggle('shown', i == slider.value); });
      var cur = imgs[slider.value];
      document.getElementById('grid-label').textContent = cur ? cur.dataset.label : '';
    };
    slider.addEventListener('input', show);
    show();
  }
  window.addEventListener('load', function () {
    var r = {sections: [], loss_series: [], eval_series: [], images: [], missing: []};
    document.querySelectorAll('section[id]').forEach(function (s) { r.sections.push(s.id); });
    document.querySelectorAll('#plot-loss [id^="loss-series-"]').forEach(function (e) {
      r.loss_series.push(e.id.slice('loss-series-'.length)); });
    document.querySelectorAll('#plot-eval [id*="-eval."]').forEach(function (e) {
      r.eval_series.push(e.id); });
    document.querySelectorAll('img').forEach(function (im) {
      r.images.push({id: im.id, naturalWidth: im.naturalWidth, complete: im.complete}); });
    document.querySelectorAll('.missing').forEach(function (e) { r.missing.push(e.textContent); });
    document.getElementById('selfcheck').textContent = JSON.stringify(r);
  });
})();
"""


def esc(x):
    return html.escape(str(x), quote=True)


def _num(v, fmt="{:.4g}"):
    if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
        return fmt.format(v)
    return "–"


def _missing(text):
    return f'<p class="missing">{esc(text)}</p>'


def _kv(rows):
    return '<table class="kv">' + "".join(
        f"<tr><td>{esc(k)}</td><td>{v}</td></tr>" for k, v in rows) + "</table>"


def _section(sid, title, body):
    return f'<section id="{sid}"><h2>{esc(title)}</h2>\n{body}\n</section>\n'


def summary_html(run):
    s = run.summary or {}
    code, sentence = exit_reason(run)
    total = s.get("steps_total", run.config_value("train.steps"))
    steps = s.get("steps", run.last_step)
    ws = s.get("world_size")
    gb = s.get("global_batch")
    if gb is None and ws is not None and run.config_value("train.batch_size"):
        gb = ws * run.config_value("train.batch_size")
    rows = [
        ("exit", f'<span class="reason-{esc(code)}">{esc(sentence)}</span>'),
        ("steps", f"{_num(steps, '{:.0f}')}" + (f" of {esc(total)} (train.steps)" if total else "")),
        ("world size", f"{_num(ws, '{:.0f}')} ranks"),
        ("global batch", f"{_num(gb, '{:.0f}')} images per step"),
        ("images / s", f"{_num(s.get('images_per_second'), '{:.1f}')} (all ranks)"),
        ("wall time", esc(format_duration(s.get("wall_s"))) + " (this launch of the trainer)"),
        ("model", esc(f"{run.config_value('model.kind', '?')}, {run.config_value('data.image_size', '?')} px")),
        ("corpus", esc(run.config_value("data.corpus", "?"))),
        ("generator bundle", f"generator.bundle ({run.bundle_bytes / 1e6:.1f} MB)" if run.bundle_bytes
         else '<span class="missing">not exported yet</span>'),
        ("newest metrics step", _num(run.last_step, "{:.0f}")),
    ]
    body = _kv(rows)
    if not run.summary:
        body = _missing("No summary.json: world size, images/s and wall time are unknown.") + body
    return _section("summary", "Summary", body)


def config_html(run):
    if run.config_text is None:
        return _section("config", "Resolved config", _missing("No config.toml in the run directory."))
    lines = len(run.config_text.splitlines())
    body = (f"<details><summary>config.toml ({lines} lines: every key the model kind reads, "
            f"defaults filled in)</summary><pre>{esc(run.config_text)}</pre></details>")
    return _section("config", "Resolved config", body)


def losses_html(run, loss_svg):
    if not run.losses:
        why = "No metrics.jsonl." if not run.metrics_present else "metrics.jsonl holds no loss values."
        return _section("losses", "Loss curves", _missing(why + " No loss curves."))
    n = len(run.losses)
    body = (f'<p class="sub">{n} loss terms (phase.term), one panel each: raw values in grey, '
            f"trailing moving average in colour; steps from metrics.jsonl "
            f"({run.metrics_lines} lines).</p>\n{loss_svg}")
    return _section("losses", "Loss curves", body)


def eval_html(run, eval_svg):
    if not run.evals:
        every = run.config_value("eval.every")
        why = ("eval.every = 0: in-training evaluation is off (docs/eval.md)." if every == 0 else
               "No eval.* lines in metrics.jsonl yet.")
        return _section("eval", "Eval metrics", _missing(why))
    newest = max(max(s.steps) for s in run.evals.values())
    rows = [(k[5:], _num(s.by_step.get(newest))) for k, s in sorted(run.evals.items())]
    body = (f'<p class="sub">In-training evaluation (eval.every = {esc(run.config_value("eval.every", "?"))}):'
            f" the generator translates the val photos into every culture; the classifier "
            f"judges them (docs/eval.md).</p>\n{eval_svg}\n"
            f"<details><summary>values at step {newest}</summary>{_kv(rows)}</details>")
    return _section("eval", "Eval metrics", body)


def _embed(path):
    """(data URI, width, height, how) of an image file; raises OSError / ValueError when it
    cannot be read or decoded."""
    with open(path, "rb") as f:
        raw = f.read()
    im = Image.open(io.BytesIO(raw))
    im.load()
    if len(raw) > JPEG_ABOVE:
        buf = io.BytesIO()
        im.convert("RGB").save(buf, format="JPEG", quality=90)
        return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode(), im.size, "JPEG"
    return "data:image/png;base64," + base64.b64encode(raw).decode(), im.size, "PNG"


def _pick(samples, limit):
    """At most `limit` of `samples`, evenly spaced, the first and the last included."""
    n = len(samples)
    if n <= limit:
        return samples
    return [samples[i] for i in sorted({round(i * (n - 1) / (limit - 1)) for i in range(limit)})]


def samples_html(run, max_grids=MAX_GRIDS):
    if not run.samples:
        return _section("samples", "Sample grids", _missing(
            "No sample grids yet (samples/step-*.png every train.sample_every steps; final.png at the end)."))
    shown = _pick(run.samples, max_grids)
    imgs, problems, jpeg = [], [], 0
    for i, s in enumerate(shown):
        try:
            uri, (w, h), how = _embed(s.path)
        except (OSError, ValueError) as e:
            problems.append(f"{os.path.basename(s.path)} could not be decoded ({e}; being written?): skipped.")
            continue
        jpeg += how == "JPEG"
        scale = 2 if w <= 640 else 1  # small grids shown at twice their size, pixels kept sharp
        imgs.append(f'<img id="grid-{i}" src="{uri}" width="{w * scale}" height="{h * scale}" '
                    f'alt="sample grid, {esc(s.label)}" data-label="{esc(s.label)}" title="{esc(s.label)}">')
    src = run.config_value("sample.source_culture", "the source culture")
    parts = [f'<p class="sub">Rows: val images of {esc(src)} (samples/sources.txt'
             + (f": {esc(', '.join(run.sources))}" if run.sources else "") + "); columns: the input, then "
             "its translation into each culture in corpus order (G_ema)"
             + (f": {esc(' | '.join(run.cultures))}" if run.cultures else "") + ". "
             + (f"Showing {len(shown)} of {len(run.samples)} grids, evenly spaced. " if len(shown) < len(run.samples) else "")
             + (f"{jpeg} grid(s) over {JPEG_ABOVE // 1000} KB are embedded as JPEG (quality 90); "
                "the PNGs are in samples/." if jpeg else "") + "</p>"]
    parts += [_missing(p) for p in problems]
    if imgs:
        parts.append(f'<div><input type="range" id="grid-slider" min="0" max="{len(imgs) - 1}" '
                     f'value="{len(imgs) - 1}" step="1" hidden aria-label="sample grid step">'
                     f'<span id="grid-label"></span></div>')
        parts.append('<div class="grids" id="grids">' + "\n".join(imgs) + "</div>")
    return _section("samples", "Sample grids", "\n".join(parts))


def confusion_html(run):
    r = run.eval_report
    if not r:
        return _section("confusion", "Confusion matrix (newest eval)", _missing(
            "No eval report with a confusion matrix: in-training evaluation (eval.every) writes "
            "eval/step-*.json; `culturegan-eval --output RUN_DIR/eval.json` writes one offline."))
    cultures = r["cultures"]
    cm = r["confusion_target_to_predicted"]
    where = os.path.relpath(run.eval_report_path, run.run_dir)
    step = run.eval_report_step
    head = "".join(f'<th class="rot">{esc(c)}</th>' for c in cultures)
    rows = []
    for target in cultures:
        counts = cm.get(target)
        if not counts:
            continue
        tot = sum(counts) or 1
        cells = []
        for j, n in enumerate(counts):
            a = n / tot
            colour = f"rgba(31,119,180,{a:.3f})" if cultures[j] == target else f"rgba(214,39,40,{a:.3f})"
            fg = "#fff" if a > 0.55 else "#222"
            cells.append(f'<td style="background:{colour};color:{fg}" title="{n} of {tot}">{n}</td>')
        acc = r.get("target_accuracy", {}).get(target)
        rows.append(f"<tr><th>{esc(target)}</th>{''.join(cells)}<td>{_num(acc, '{:.2f}')}</td></tr>")
    body = (f'<p class="sub">{esc(where)}{f" (step {step})" if step is not None else ""}: rows are the '
            f"requested culture (the {esc(r.get('source_culture', 'source'))} val photos translated into it; "
            "the source row is the real photos), columns what the classifier predicted; blue = the "
            "requested culture. Classifier ceiling on real val images: "
            f"{_num(r.get('classifier_val_accuracy'), '{:.3f}')}; target accuracy mean "
            f"{_num(r.get('target_accuracy_mean'), '{:.3f}')}.</p>"
            f'<table class="cm"><tr><th>requested \\ predicted</th>{head}<th>accuracy</th></tr>'
            + "".join(rows) + "</table>")
    return _section("confusion", "Confusion matrix (newest eval)", body)


def checkpoints_html(run):
    if not run.checkpoints:
        return _section("checkpoints", "Checkpoints", _missing("No checkpoints yet."))
    rows = []
    for c in reversed(run.checkpoints):
        saved = (datetime.datetime.fromtimestamp(c.saved_unix_s, datetime.timezone.utc)
                 .strftime("%Y-%m-%d %H:%M:%S UTC") if isinstance(c.saved_unix_s, (int, float)) else "–")
        flags = []
        if run.latest_checkpoint == c.name:
            flags.append("latest")
        if not c.complete:
            flags.append("no MANIFEST: incomplete")
        rows.append(f"<tr><td>checkpoints/{esc(c.name)}</td><td class=num>{c.step}</td><td>{esc(saved)}</td>"
                    f"<td class=num>{c.bytes / 1e6:.1f} MB</td><td>{esc(', '.join(flags))}</td></tr>")
    body = ('<p class="sub">Newest first; <code>--resume auto</code> continues from the one '
            "<code>checkpoints/latest</code> names (docs/checkpoint-format.md).</p>"
            '<table><tr><th>checkpoint</th><th class=num>step</th><th>saved</th><th class=num>size</th>'
            "<th></th></tr>" + "".join(rows) + "</table>")
    return _section("checkpoints", "Checkpoints", body)


def render(run, loss_svg, eval_svg, max_grids=MAX_GRIDS, generated=None):
    """The whole page as a string. loss_svg / eval_svg: the plots' <svg> text, or None."""
    generated = generated or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    notes = ""
    if run.notes:
        notes = ('<div class="notes" id="notes"><b>Missing or skipped</b><ul>'
                 + "".join(f"<li>{esc(n)}</li>" for n in run.notes) + "</ul></div>")
    body = "".join([
        summary_html(run), config_html(run), losses_html(run, loss_svg), eval_html(run, eval_svg),
        samples_html(run, max_grids), confusion_html(run), checkpoints_html(run),
    ])
    nav = " · ".join(f'<a href="#{s}">{s}</a>' for s in SECTIONS)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>culturegan run {esc(run.name)}</title>
<style>{CSS}</style></head>
<body>
<h1>culturegan run <code>{esc(run.name)}</code></h1>
<div class="sub">{esc(run.run_dir)} · report written {esc(generated)} by culturegan-report · {nav}</div>
{notes}
{body}
<pre id="selfcheck" hidden></pre>
<script>{SCRIPT}</script>
</body></html>
"""
