// The media module: the few livekit-client calls Quorum uses, bundled by
// esbuild (scripts/bundle-media.mjs) into dist/media/ and imported by the
// wasm client only when someone enters a room with media. Rust drives it
// through `client/src/livekit/` and hears back through `onEvent`; nothing
// here keeps state beyond the one Room.
import {
  ExternalE2EEKeyProvider,
  Room,
  RoomEvent,
  Track,
  isE2EESupported,
} from "livekit-client";

// What the façade was asked to do, in order, as it completed: tests read
// it (e.g. that the key was set and E2EE enabled before connecting). The
// newest 100 only.
export const calls = [];
function record(name) {
  calls.push(name);
  if (calls.length > 100) calls.splice(0, calls.length - 100);
}

/** Whether this browser can encrypt media end to end. */
export function e2eeSupported() {
  return isE2EESupported();
}

const SOURCES = {
  [Track.Source.Microphone]: "microphone",
  [Track.Source.Camera]: "camera",
  [Track.Source.ScreenShare]: "screen_share",
  [Track.Source.ScreenShareAudio]: "screen_share_audio",
};

function who(p) {
  return { identity: p.identity, name: p.name || p.identity };
}

function published(pub, p) {
  return { type: "published", sid: pub.trackSid, source: SOURCES[pub.source] ?? "unknown", ...who(p) };
}

/**
 * A media session. `key` (an ArrayBuffer of 32 bytes, or null) turns on
 * end-to-end encryption with LiveKit's worker at `workerUrl`. `onEvent`
 * gets plain objects `{ type, ... }`.
 */
export async function open(key, workerUrl, onEvent) {
  let e2ee;
  if (key) {
    const keyProvider = new ExternalE2EEKeyProvider();
    e2ee = { keyProvider, worker: new Worker(workerUrl, { type: "module" }) };
  }
  const room = new Room({ adaptiveStream: true, dynacast: true, e2ee });
  const emit = (ev) => {
    try {
      onEvent(ev);
    } catch (err) {
      console.error("media: event handler failed", err);
    }
  };
  room
    .on(RoomEvent.Connected, () => emit({ type: "connected" }))
    .on(RoomEvent.Reconnecting, () => emit({ type: "reconnecting" }))
    .on(RoomEvent.Reconnected, () => emit({ type: "connected" }))
    .on(RoomEvent.Disconnected, (reason) => emit({ type: "disconnected", reason: String(reason ?? "") }))
    .on(RoomEvent.TrackSubscribed, (track, pub, p) =>
      emit({ type: "track", sid: pub.trackSid, source: SOURCES[track.source] ?? "unknown",
             kind: track.kind, element: track.attach(), ...who(p) }))
    // Nothing is received unless Rust subscribes (autoSubscribe is off):
    // it hears of every remote track, including those there when we join.
    .on(RoomEvent.TrackPublished, (pub, p) => emit(published(pub, p)))
    .on(RoomEvent.TrackUnpublished, (pub) => emit({ type: "unpublished", sid: pub.trackSid }))
    .on(RoomEvent.ParticipantConnected, (p) => {
      for (const pub of p.trackPublications.values()) emit(published(pub, p));
    })
    .on(RoomEvent.ParticipantDisconnected, (p) => {
      for (const pub of p.trackPublications.values()) emit({ type: "unpublished", sid: pub.trackSid });
    })
    .on(RoomEvent.TrackUnsubscribed, (track, pub) => {
      track.detach();
      emit({ type: "track_gone", sid: pub.trackSid });
    })
    .on(RoomEvent.ActiveSpeakersChanged, (speakers) =>
      emit({ type: "speakers", identities: speakers.map((s) => s.identity) }))
    .on(RoomEvent.ConnectionQualityChanged, (quality, p) =>
      emit({ type: "quality", quality: String(quality), ...who(p) }))
    .on(RoomEvent.EncryptionError, (err, p) =>
      emit({ type: "encryption_error", message: String(err?.message ?? err), identity: p?.identity ?? "" }))
    .on(RoomEvent.TrackMuted, (pub, p) =>
      emit({ type: "muted", source: SOURCES[pub.source] ?? "unknown", muted: true, local: !!p.isLocal, ...who(p) }))
    .on(RoomEvent.TrackUnmuted, (pub, p) =>
      emit({ type: "muted", source: SOURCES[pub.source] ?? "unknown", muted: false, local: !!p.isLocal, ...who(p) }))
    .on(RoomEvent.LocalTrackPublished, (pub, p) => {
      const source = SOURCES[pub.source] ?? "unknown";
      emit({ type: "local", source, on: true });
      // Our own camera and screen show too (never our microphone).
      if (pub.track && pub.kind === "video") {
        emit({ type: "track", sid: pub.trackSid, source, kind: "video",
               element: pub.track.attach(), ...who(p) });
      }
    })
    .on(RoomEvent.LocalTrackUnpublished, (pub) => {
      emit({ type: "local", source: SOURCES[pub.source] ?? "unknown", on: false });
      if (pub.track && pub.kind === "video") pub.track.detach();
      emit({ type: "track_gone", sid: pub.trackSid });
    });
  if (e2ee) {
    try {
      await e2ee.keyProvider.setKey(key);
      record("setKey");
      await room.setE2EEEnabled(true);
      record("setE2EEEnabled(true)");
    } catch (err) {
      // Nothing is left behind for the next attempt.
      room.removeAllListeners();
      e2ee.worker.terminate();
      throw err;
    }
  }
  return {
    async connect(url, token) {
      record("connect:start");
      await room.connect(url, token, { autoSubscribe: false });
      record("connect");
      for (const p of room.remoteParticipants.values()) {
        for (const pub of p.trackPublications.values()) emit(published(pub, p));
      }
    },
    async setMicrophone(on, deviceId) {
      await room.localParticipant.setMicrophoneEnabled(on, deviceId ? { deviceId } : undefined);
    },
    async setCamera(on, deviceId) {
      await room.localParticipant.setCameraEnabled(on, deviceId ? { deviceId } : undefined);
    },
    async setScreenShare(on) {
      await room.localParticipant.setScreenShareEnabled(on);
    },
    async devices(kind) {
      const list = await Room.getLocalDevices(kind);
      return list.map((d) => ({ id: d.deviceId, label: d.label }));
    },
    async switchDevice(kind, id) {
      await room.switchActiveDevice(kind, id);
    },
    subscribe(sid, on) {
      for (const p of room.remoteParticipants.values()) {
        const pub = p.trackPublications.get(sid);
        if (pub) {
          pub.setSubscribed(on);
          return true;
        }
      }
      return false;
    },
    async disconnect() {
      record("disconnect");
      room.removeAllListeners();
      await room.disconnect();
      if (e2ee) e2ee.worker.terminate();
    },
  };
}
