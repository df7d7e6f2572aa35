// node bench/detach/peers/better-sse.mjs PORT: better-sse streams on one channel.
//   /stream   a session (retry 2000, keep-alive comment every 15 s) registered on the channel
//   /publish  one broadcast of event `e` whose data is the time (CLOCK_REALTIME ns, to the µs)
//   /plain    an ordinary response
import http from "node:http";
import { createChannel, createSession } from "better-sse";

const port = Number(process.argv[2]);
const channel = createChannel();

const server = http.createServer(async (req, res) => {
  if (req.url.startsWith("/stream")) {
    const session = await createSession(req, res, { retry: 2000, keepAlive: 15000 });
    channel.register(session);
  } else if (req.url.startsWith("/publish")) {
    const t = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
    channel.broadcast(String(t), "e");
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ sent: String(t), sessions: channel.sessionCount }));
  } else if (req.url.startsWith("/plain")) {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("ok\n");
  } else {
    res.writeHead(404);
    res.end();
  }
});
server.listen(port, "127.0.0.1", 4096);
