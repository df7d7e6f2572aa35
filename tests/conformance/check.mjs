// Feeds the frames written by frame-cases.php to eventsource-parser, an independent
// implementation of the WHATWG event stream parser, and compares what it dispatches with
// what each case intended. Every frame is parsed whole, then as bytes cut into random small
// chunks decoded the way a browser does (streaming UTF-8), so cuts inside CRLF or inside a
// multi-byte character are covered. Last, all frames are sent as one stream, to catch a
// frame that leaks state into the next one. The extension's own parser, Sse\EventStreamParser,
// must read every frame as eventsource-parser does.
//
// Usage: node check.mjs cases.json   (prints a diff per failure and "N passed, N failed")

import { readFileSync } from 'node:fs';
import { isDeepStrictEqual, inspect } from 'node:util';
import { createParser } from 'eventsource-parser';

const SPLITS_PER_CASE = 5;
const MAX_CHUNK = 7;

// A small seeded generator (mulberry32), so a failing split can be reproduced from its seed.
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function chunksOf(bytes, seed) {
  const next = random(seed);
  const chunks = [];
  for (let at = 0; at < bytes.length; ) {
    const size = 1 + Math.floor(next() * MAX_CHUNK);
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

// What a client sees for a stream given as byte chunks.
function parse(chunks) {
  const seen = { events: [], comments: [], retry: [] };
  const parser = createParser({
    onEvent: (e) => seen.events.push({ data: e.data, event: e.event ?? null, id: e.id ?? null }),
    onComment: (c) => seen.comments.push(c),
    onRetry: (r) => seen.retry.push(r),
  });
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for (const chunk of chunks) {
    parser.feed(decoder.decode(chunk, { stream: true }));
  }
  parser.feed(decoder.decode());
  return seen;
}

function expectedOf(c) {
  return { events: c.events, comments: c.comments, retry: c.retry };
}

function show(value) {
  return inspect(value, { depth: 5, maxStringLength: 200, breakLength: 120 });
}

// A field-by-field account of what differs, short enough to read for a 64 KiB value.
function diff(expected, actual) {
  const lines = [];
  for (const key of Object.keys(expected)) {
    const want = expected[key];
    const got = actual[key];
    if (isDeepStrictEqual(want, got)) continue;
    if (Array.isArray(want) && Array.isArray(got)) {
      // Long lists (the whole stream): name the first element that differs.
      let i = 0;
      while (i < want.length && isDeepStrictEqual(want[i], got[i])) i++;
      lines.push(`    ${key}: ${want.length} expected, ${got.length} seen; first difference at [${i}]`);
      lines.push(`    ${key}[${i}]: expected ${show(want[i])}`);
      lines.push(`    ${key}[${i}]:   actual ${show(got[i])}`);
    } else {
      lines.push(`    ${key}: expected ${show(want)}`);
      lines.push(`    ${key}:   actual ${show(got)}`);
    }
  }
  return lines.join('\n');
}

const cases = JSON.parse(readFileSync(process.argv[2], 'utf8'));
let passed = 0;
let failed = 0;

function check(label, expected, actual, detail = '') {
  if (isDeepStrictEqual(expected, actual)) {
    passed++;
    return;
  }
  failed++;
  console.log(`FAIL ${label}${detail}\n${diff(expected, actual)}`);
}

const stream = [];
const streamExpected = { events: [], comments: [], retry: [] };

for (const [index, c] of cases.entries()) {
  const label = `#${index + 1} ${c.name}`;
  if (c.refused) {
    check(label, { refused: 'Sse\\InvalidEventException' },
      { refused: c.error?.startsWith('Sse\\InvalidEventException: ') ? 'Sse\\InvalidEventException' : (c.error ?? 'framed without error') });
    continue;
  }
  if (c.frame === null) {
    check(label, { framed: true }, { framed: c.error });
    continue;
  }
  const bytes = Buffer.from(c.frame, 'base64');
  const frameText = `\n    frame: ${show(bytes.toString('utf8'))}`;
  check(`${label} (whole)`, expectedOf(c), parse([bytes]), frameText);
  for (let s = 1; s <= SPLITS_PER_CASE; s++) {
    const seed = index * 1000 + s;
    check(`${label} (chunks, seed ${seed})`, expectedOf(c), parse(chunksOf(bytes, seed)), frameText);
  }
  // Sse\EventStreamParser reports the type "message" and the last event id ('' when none)
  // where eventsource-parser reports none; within one frame that is the same information.
  const reference = parse([bytes]).events.map((e) => ({ event: e.event ?? 'message', data: e.data, id: e.id ?? '' }));
  check(`${label} (Sse\\EventStreamParser agrees)`, { events: reference }, { events: c.ownParse });
  stream.push(bytes);
  streamExpected.events.push(...c.events);
  streamExpected.comments.push(...c.comments);
  streamExpected.retry.push(...c.retry);
}

const all = Buffer.concat(stream);
check('all frames as one stream (whole)', streamExpected, parse([all]));
for (const seed of [1, 2, 3]) {
  check(`all frames as one stream (chunks, seed ${seed})`, streamExpected, parse(chunksOf(all, seed)));
}

console.log(`${cases.length} cases, ${all.length} bytes of frames`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
