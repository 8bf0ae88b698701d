// An independent verifier for the ledger's proof bundles, written from RFC
// 9162 §2.1.3.2 and the C2SP signed-note and checkpoint specs with nothing
// but node:crypto — so the test does not trust govdata's own verifier.

import { createHash, createPublicKey, verify } from "node:crypto";

const sha256 = (...parts) => createHash("sha256").update(Buffer.concat(parts)).digest();
const leafHash = (data) => sha256(Buffer.from([0]), data);
const nodeHash = (left, right) => sha256(Buffer.from([1]), left, right);

/** The root an inclusion proof leads to, or an error. */
export function rootFromInclusionProof(index, size, leaf, proof) {
  if (index >= size) throw new Error(`index ${index} is outside a tree of size ${size}`);
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) throw new Error("proof is longer than the tree is deep");
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new Error("proof is shorter than the tree is deep");
  return r;
}

/** Checks a checkpoint's Ed25519 signature by the verifier key; returns {origin, size, root}. */
export function openCheckpoint(note, verifierKey) {
  const split = note.indexOf("\n\n");
  if (split < 0) throw new Error("a signed note has a blank line before its signatures");
  const body = note.slice(0, split + 1);
  // name+keyid+base64: the name has no "+", the base64 may.
  const [, name, keyId, encoded] = verifierKey.match(/^([^+]+)\+([0-9a-f]{8})\+(.+)$/) ?? [];
  const key = Buffer.from(encoded, "base64");
  if (key[0] !== 1 || key.length !== 33) throw new Error("not an Ed25519 verifier key");
  const publicKey = createPublicKey({
    key: Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), key.subarray(1)]),
    format: "der",
    type: "spki",
  });
  const signatures = note
    .slice(split + 2)
    .split("\n")
    .filter(Boolean)
    .map((line) => line.match(/^\u2014 (\S+) (\S+)$/))
    .filter((match) => match && match[1] === name)
    .map((match) => Buffer.from(match[2], "base64"))
    .filter((signature) => signature.subarray(0, 4).toString("hex") === keyId);
  if (!signatures.some((signature) => verify(null, Buffer.from(body), publicKey, signature.subarray(4))))
    throw new Error("no valid signature by the verifier key");
  const [origin, size, root] = body.split("\n");
  return { origin, size: Number(size), root: Buffer.from(root, "base64") };
}

/** Verifies a bundle from the portal's "download proof" (or `govdata ledger prove`). */
export function verifyBundle(bundle) {
  const checkpoint = openCheckpoint(bundle.checkpoint, bundle.log.verifier_key);
  if (checkpoint.origin !== bundle.log.origin) throw new Error("checkpoint of another log");
  const leaf = leafHash(Buffer.from(bundle.entry.canonical, "base64"));
  if (leaf.toString("hex") !== bundle.entry.leaf_hash) throw new Error("the entry's bytes do not hash to its leaf");
  const proof = bundle.inclusion_proof;
  if (proof.index !== bundle.entry.index || proof.size !== checkpoint.size) throw new Error("proof for another entry or size");
  const root = rootFromInclusionProof(proof.index, proof.size, leaf, proof.hashes.map((h) => Buffer.from(h, "hex")));
  if (!root.equals(checkpoint.root)) throw new Error("the proof does not lead to the signed root");
  return checkpoint;
}
