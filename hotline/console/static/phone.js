// The console's WebRTC phone (issue 13 item 2): SIP.js (pinned, served by the controller from its
// package, /console/vendor/sip.js/) registering the seat over Asterisk's WebSocket with the
// credentials GET /api/seats/{seat}/phone gives the seat's own user. Media is DTLS-SRTP with ICE
// (Asterisk's endpoint has webrtc=yes); no STUN server: the seats' network reaches Asterisk.
// window.hotlinePhone is what the Chromium test reads: the state, the ring times, getStats().
import { Web } from "/console/vendor/sip.js/index.js";

export function startPhone(cfg, ui) {
  const remoteAudio = document.getElementById("remote-audio");
  const phone = {state: "connecting", rings: [], user: null, caller: null};
  window.hotlinePhone = phone;

  const user = new Web.SimpleUser(cfg.ws_url, {
    aor: cfg.uri,
    media: {constraints: {audio: true, video: false}, remote: {audio: remoteAudio}},
    reconnectionAttempts: 1000000, reconnectionDelay: 2,
    registererOptions: {expires: 300},
    userAgentOptions: {
      authorizationUsername: cfg.username, authorizationPassword: cfg.password, displayName: cfg.name,
      logLevel: "warn",
      sessionDescriptionHandlerFactoryOptions: {
        peerConnectionConfiguration: {iceServers: []}, iceGatheringTimeout: 1000},
    },
    delegate: {
      onServerConnect: () => { set("connected"); user.register().catch((e) => ui.error(`注册失败：${e.message}`)); },
      onServerDisconnect: () => set("off"),
      onRegistered: () => set("registered"),
      onUnregistered: () => set("off"),
      onCallReceived: () => {
        const at = performance.now();   // the seat's phone rings: the screen pop is timed from here
        const identity = user.session && user.session.remoteIdentity;
        phone.caller = identity ? (identity.uri.user || identity.displayName || "") : "";
        phone.rings.push({at, caller: phone.caller});
        set("ringing");
        ui.ringing(phone.caller, at);
      },
      onCallAnswered: () => set("talking"),
      onCallHangup: () => { phone.caller = null; set(phone.registered ? "registered" : "off"); ui.ended(); },
    },
  });
  phone.user = user;

  function set(state) {
    if (state === "registered") phone.registered = true;
    if (state === "off") phone.registered = false;
    phone.state = state;
    ui.state(state);
  }

  // RTP both ways, measured by the browser itself (the test reads it): inbound and outbound audio.
  phone.stats = async () => {
    const handler = user.session && user.session.sessionDescriptionHandler;
    const pc = handler && handler.peerConnection;
    if (!pc) return null;
    const out = {};
    (await pc.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "audio") {
        out.packetsReceived = s.packetsReceived; out.audioLevel = s.audioLevel;
        out.totalAudioEnergy = s.totalAudioEnergy;
      }
      if (s.type === "outbound-rtp" && s.kind === "audio") out.packetsSent = s.packetsSent;
    });
    return out;
  };
  phone.answer = () => user.answer().catch((e) => ui.error(`接听失败：${e.message}`));
  phone.hangup = () => user.hangup().catch((e) => ui.error(`挂断失败：${e.message}`));
  phone.stop = () => user.unregister().catch(() => null).then(() => user.disconnect()).catch(() => null);

  user.connect().catch((e) => { set("off"); ui.error(`无法连接话机服务：${e.message}`); });
  return phone;
}
