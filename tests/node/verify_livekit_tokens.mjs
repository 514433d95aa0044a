// Checks LiveKit access tokens with LiveKit's own TokenVerifier (npm
// livekit-server-sdk), so our grants are read the way a LiveKit server
// reads them. Input on stdin, JSON:
//   { "apiKey": "...", "apiSecret": "...",
//     "cases": [ { "label": "moderator", "token": "...",
//                  "expect": { "sub": "...", "name": "...", "maxTtlSecs": 600,
//                              "video": { "room": "...", "roomAdmin": true, ... } } } ] }
// Every field of `expect.video` must equal the token's (arrays exactly);
// a field given as null must be absent or false. Prints one line per
// case; exits 1 if any case fails.
import { TokenVerifier } from "livekit-server-sdk";

const input = JSON.parse(await new Promise((resolve, reject) => {
  let data = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (c) => (data += c));
  process.stdin.on("end", () => resolve(data));
  process.stdin.on("error", reject);
}));

const verifier = new TokenVerifier(input.apiKey, input.apiSecret);
const now = Math.floor(Date.now() / 1000);
let failed = 0;

for (const c of input.cases) {
  const problems = [];
  try {
    const claims = await verifier.verify(c.token);
    const e = c.expect;
    if (e.sub !== undefined && claims.sub !== e.sub) problems.push(`sub ${claims.sub} != ${e.sub}`);
    if (e.name !== undefined && claims.name !== e.name) problems.push(`name ${claims.name} != ${e.name}`);
    if (!(claims.exp > now)) problems.push(`already expired (exp ${claims.exp})`);
    if (e.maxTtlSecs !== undefined && claims.exp - now > e.maxTtlSecs) {
      problems.push(`lives ${claims.exp - now} s, more than ${e.maxTtlSecs} s`);
    }
    const video = claims.video ?? {};
    for (const [k, want] of Object.entries(e.video ?? {})) {
      const got = video[k];
      const same = want === null
        ? got === undefined || got === false
        : JSON.stringify(got) === JSON.stringify(want);
      if (!same) problems.push(`video.${k} ${JSON.stringify(got)} != ${JSON.stringify(want)}`);
    }
  } catch (err) {
    problems.push(`not verified: ${err.message}`);
  }
  if (problems.length) {
    failed++;
    console.log(`FAIL ${c.label}: ${problems.join("; ")}`);
  } else {
    console.log(`ok ${c.label}`);
  }
}
process.exit(failed ? 1 : 0);
