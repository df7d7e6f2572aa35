//! `Sse\SseEmitter` (placeholder until the emitter lands).
