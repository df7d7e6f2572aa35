<?php declare(strict_types=1); ?>
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>ext-sse live dashboard</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; margin: 2rem auto; max-width: 44rem; color: #1d2733; }
  h1 { font-size: 1.4rem; margin: 0 0 .2rem; }
  .status { display: inline-block; padding: .1rem .6rem; border-radius: 1rem; font-size: .85rem; background: #eee; }
  .status.open { background: #d7f5dd; color: #145c26; }
  .status.reconnecting { background: #fdebd0; color: #7a4a06; }
  #clock { font: 600 2.4rem ui-monospace, monospace; margin: 1rem 0; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #e3e7ec; }
  td.num { text-align: right; font-family: ui-monospace, monospace; }
  .up { color: #137a2c; } .down { color: #b3261e; }
  #log { font: 12px ui-monospace, monospace; background: #f6f8fa; padding: .6rem; height: 9rem; overflow: auto; white-space: pre; }
</style>
</head>
<body>
<h1>Live dashboard</h1>
<p>Server-Sent Events from PHP with ext-sse. <span id="status" class="status">connecting</span>
   last event id <code id="last-id">-</code></p>
<div id="clock">--:--:--</div>
<table>
  <thead><tr><th>Symbol</th><th class="num">Price</th><th class="num">Change</th></tr></thead>
  <tbody id="stocks"></tbody>
</table>
<h2>Raw events</h2>
<div id="log"></div>
<script>
const status = document.getElementById('status');
const log = document.getElementById('log');
const rows = {};
window.received = [];

function note(line) {
  log.textContent = (line + '\n' + log.textContent).slice(0, 4000);
}

const source = new EventSource('stream.php');
source.onopen = () => { status.textContent = 'live'; status.className = 'status open'; };
source.onerror = () => { status.textContent = 'reconnecting'; status.className = 'status reconnecting'; };

source.addEventListener('clock', (e) => {
  document.getElementById('clock').textContent = e.data;
  document.getElementById('last-id').textContent = e.lastEventId;
  window.received.push({ type: 'clock', id: e.lastEventId, data: e.data });
  note(`clock #${e.lastEventId} ${e.data}`);
});

source.addEventListener('stock', (e) => {
  const quote = JSON.parse(e.data);
  let row = rows[quote.symbol];
  if (!row) {
    row = rows[quote.symbol] = document.createElement('tr');
    row.innerHTML = `<td>${quote.symbol}</td><td class="num"></td><td class="num"></td>`;
    document.getElementById('stocks').append(row);
  }
  row.cells[1].textContent = quote.price.toFixed(2);
  row.cells[2].textContent = (quote.change >= 0 ? '+' : '') + quote.change.toFixed(2);
  row.cells[2].className = 'num ' + (quote.change >= 0 ? 'up' : 'down');
  document.getElementById('last-id').textContent = e.lastEventId;
  window.received.push({ type: 'stock', id: e.lastEventId, data: quote });
  note(`stock #${e.lastEventId} ${e.data}`);
});
</script>
</body>
</html>
