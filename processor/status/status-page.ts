/**
 * The processor's status page (GET /): a small HTML page that polls /v1/status every second and
 * shows slots, holders, epochs, the lag of every topic the app reads, this instance's throughput, and its tasks (`<sub-topology>_<partition>`): how many in each
 * state, each one's state, why it is suspended or corrupted, and its restore progress.
 */
export const statusPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>sluice status</title>
<style>
 body{font:14px system-ui,sans-serif;margin:1.5rem;color:#222} h1{font-size:1.3rem} h2{font-size:1.05rem;margin-top:1.5rem}
 table{border-collapse:collapse} td,th{padding:.25rem .7rem;border-bottom:1px solid #ddd;text-align:left}
 .muted{color:#888} .bad{color:#b00}
</style></head>
<body>
<h1>sluice · <span id="app">…</span></h1>
<div id="instance" class="muted">loading…</div>
<h2>Slots</h2><table id="slots"></table>
<h2>Partitions</h2><table id="partitions"></table>
<h2>This instance</h2><div id="task-states" class="muted"></div><table id="tasks"></table>
<script>
let last;
const esc = (v) => String(v ?? '–').replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]);
const rows = (head, body) => '<tr>' + head.map((h) => '<th>' + h + '</th>').join('') + '</tr>' +
  body.map((r) => '<tr>' + r.map((c) => '<td>' + esc(c) + '</td>').join('') + '</tr>').join('');
async function refresh() {
  try {
    const s = await (await fetch('/v1/status')).json();
    const now = Date.now();
    const rate = last ? Math.round((s.instance.recordsIn - last.recordsIn) / ((now - last.at) / 1000)) : 0;
    last = { recordsIn: s.instance.recordsIn, at: now };
    document.getElementById('app').textContent = s.report.app;
    document.getElementById('instance').textContent = s.instance.address + ' · ' + s.instance.role +
      (s.instance.slot === undefined ? '' : ' of slot ' + s.instance.slot) + ' · ' + rate + ' records/s · total lag ' + s.report.totalLag;
    document.getElementById('slots').innerHTML = rows(['slot', 'epoch', 'holder', 'lease age', 'standbys (changelog lag)'],
      s.report.slots.map((x) => [x.slot, x.epoch,
        (x.holder ?? '') + (x.holderRole && x.holderRole !== 'active' ? ' (' + x.holderRole + ')' : '') +
          (x.borrowedBySlot === null ? '' : ' (borrowed by slot ' + x.borrowedBySlot + ')'),
        x.leaseAgeMs === null ? null : (x.leaseAgeMs / 1000).toFixed(1) + ' s',
        x.standbys.map((b) => b.instanceId + ' (' + (b.changelogLag ?? '?') + ')').join(', ')]));
    document.getElementById('partitions').innerHTML = rows(['topic', 'partition', 'committed', 'end', 'lag'],
      s.report.partitions.map((p) => [p.topic, p.partition, p.committed, p.end, p.lag]));
    const counts = {};
    for (const t of s.instance.tasks) counts[t.state] = (counts[t.state] ?? 0) + 1;
    document.getElementById('task-states').textContent = Object.entries(counts).map(([k, n]) => n + ' ' + k).join(' · ') || 'no tasks';
    document.getElementById('tasks').innerHTML = rows(['task', 'state', 'why', 'restored', 'to restore'],
      s.instance.tasks.map((t) => [t.task, t.state, t.reason ?? (t.inputReset ? 'input reset from ' + t.inputReset.from +
        ' to the log start ' + t.inputReset.to + ' (' + t.inputReset.skipped + ' records removed by retention)' : null), t.restoreDone, t.restoreTotal]));
  } catch (error) {
    document.getElementById('instance').innerHTML = '<span class="bad">cannot reach /v1/status: ' + esc(error) + '</span>';
  }
}
refresh(); setInterval(refresh, 1000);
</script>
</body></html>`;
