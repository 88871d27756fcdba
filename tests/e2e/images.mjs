// Test pictures made on the spot: a minimal PNG encoder (8-bit RGB, no filtering) and image
// folders in the one-subfolder-per-class layout the page reads.

import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

// A width x height PNG whose pixel (x, y) is `colour(x, y)` = [r, g, b].
export function png(width, height, colour) {
  const raw = Buffer.alloc(height * (1 + width * 3));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) Buffer.from(colour(x, y)).copy(raw, y * (1 + width * 3) + 1 + x * 3);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

// A face-like picture: a disc on a background, with a mouth curved up (smile) or down.
export function face(smile, shade, side = 48) {
  const c = side / 2;
  return png(side, side, (x, y) => {
    const r = Math.hypot(x - c, y - c);
    const mouthY = c + side * 0.18 + (smile ? -1 : 1) * ((x - c) ** 2) / (side * 0.6);
    if (Math.abs(x - c) < side * 0.22 && Math.abs(y - mouthY) < 1.6) return [60, 20, 20];
    return r < side * 0.4 ? [230 - shade, 190 - shade, 150] : [40 + shade, 90, 140];
  });
}

// Writes `dir/<class>/<i>.png` for each class with `n` faces; returns dir.
export function writeFolder(dir, classes, n) {
  fs.rmSync(dir, { recursive: true, force: true });
  for (const name of classes) {
    fs.mkdirSync(path.join(dir, name), { recursive: true });
    for (let i = 0; i < n; i++) fs.writeFileSync(path.join(dir, name, `${String(i).padStart(2, '0')}.png`), face(name === 'smile', (i * 7) % 40));
  }
  return dir;
}

// A zip archive (stored, no compression) of `files`: [{path, bytes}].
export function zip(files) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const { path: name, bytes } of files) {
    const nameBytes = Buffer.from(name, 'utf8');
    const crc = crc32(bytes);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(bytes.length, 18);
    local.writeUInt32LE(bytes.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(bytes.length, 20);
    central.writeUInt32LE(bytes.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, bytes);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + bytes.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}
