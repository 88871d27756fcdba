"""Drafts a face box and a mouth box for each of the 150 Happy House test photos, and draws
contact sheets to check them by eye.

    python3 tools/happy_faces/draft_face_boxes.py TEST_H5 OUT_DIR

It runs inside its own throwaway virtualenv (build/venv-faces, created on first use with
mediapipe 0.10.14, the last release whose wheel still carries its face models (the "solutions"
face mesh: 468 landmarks per face), plus h5py and pillow). OpenCV's Haar cascades were tried
first and found half of the faces.

What it writes in OUT_DIR:
- draft.csv: index, the face box (face_x0, face_y0, face_x1, face_y1: the bounds of the face
  oval's landmarks) and the mouth box (mouth_*: the bounds of the outer lip landmarks), in the
  64x64 pixels, x1 and y1 exclusive; blank where the face mesh found no face;
- sheet-K.png: 25 photos at 4x, each with its index, the face box in red and the mouth box in
  cyan.

The draft is not the committed file. src/data/happy_house_faces.csv is the draft looked at
sheet by sheet, with every wrong or missing box marked by hand (its "source" column says
which); rerun this script to redraw the sheets with --boxes src/data/happy_house_faces.csv.
"""

import csv
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ["mediapipe==0.10.14", "h5py", "pillow"]


def reexec_in_venv():
    venv = (REPO / "build" / "venv-faces").resolve()
    python = venv / "bin" / "python"
    if Path(sys.prefix).resolve() == venv:
        return
    if not python.exists():
        print(f"creating {venv} (once)", file=sys.stderr)
        subprocess.check_call([sys.executable, "-m", "venv", str(venv)])
        subprocess.check_call([str(python), "-m", "pip", "install", "-q", *PACKAGES])
    os.execv(str(python), [str(python), __file__, *sys.argv[1:]])


SCALE = 4  # the face mesh works on 256x256 upscales of the 64x64 photos
FIELDS = ["face_x0", "face_y0", "face_x1", "face_y1", "mouth_x0", "mouth_y0", "mouth_x1", "mouth_y1"]


def detect(mesh, mp, cv2, image):
    """(face box, mouth box) in 64-pixel units, or None when no face is found."""
    big = cv2.resize(image, (64 * SCALE, 64 * SCALE), interpolation=cv2.INTER_CUBIC)
    found = mesh.process(big).multi_face_landmarks
    if not found:
        return None
    points = found[0].landmark

    def bounds(connections):
        ids = {i for pair in connections for i in pair}
        xs = [points[i].x * 64 for i in ids]
        ys = [points[i].y * 64 for i in ids]
        clamp = lambda v: max(0, min(64, v))
        return (clamp(int(min(xs))), clamp(int(min(ys))), clamp(int(max(xs)) + 1), clamp(int(max(ys)) + 1))

    solutions = mp.solutions.face_mesh
    return bounds(solutions.FACEMESH_FACE_OVAL) + bounds(solutions.FACEMESH_LIPS)


def sheets(images, boxes, out):
    from PIL import Image, ImageDraw

    cell = 64 * SCALE
    for k in range(0, len(images), 25):
        sheet = Image.new("RGB", (5 * cell, 5 * cell), "white")
        draw = ImageDraw.Draw(sheet)
        for j, i in enumerate(range(k, min(k + 25, len(images)))):
            ox, oy = (j % 5) * cell, (j // 5) * cell
            sheet.paste(Image.fromarray(images[i]).resize((cell, cell), Image.NEAREST), (ox, oy))
            b = boxes.get(i)
            for part, colour in [(b and b[:4], "red"), (b and b[4:], "cyan")]:
                if part:
                    x0, y0, x1, y1 = (v * SCALE for v in part)
                    draw.rectangle([ox + x0, oy + y0, ox + x1 - 1, oy + y1 - 1], outline=colour, width=2)
            draw.rectangle([ox, oy, ox + 34, oy + 14], fill="black")
            draw.text((ox + 3, oy + 2), str(i), fill="yellow")
        sheet.save(out / f"sheet-{k // 25}.png")


def main():
    reexec_in_venv()
    import cv2
    import h5py
    import mediapipe as mp
    import numpy as np

    args = sys.argv[1:]
    given = None
    if "--boxes" in args:
        at = args.index("--boxes")
        given = args[at + 1]
        del args[at : at + 2]
    if len(args) != 2:
        sys.exit(__doc__)
    h5, out = args[0], Path(args[1])
    out.mkdir(parents=True, exist_ok=True)
    with h5py.File(h5, "r") as f:
        images = np.asarray(f["test_set_x"])
    if given:
        with open(given) as f:
            rows = [r for r in csv.DictReader(l for l in f if not l.startswith("#"))]
        boxes = {int(r["index"]): tuple(int(r[k]) for k in FIELDS) for r in rows if r[FIELDS[0]]}
    else:
        boxes = {}
        mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=True, max_num_faces=1, min_detection_confidence=0.3
        )
        with open(out / "draft.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["index", *FIELDS])
            for i, image in enumerate(images):
                b = detect(mesh, mp, cv2, image)
                if b:
                    boxes[i] = b
                w.writerow([i, *(b or [""] * len(FIELDS))])
        print(f"{len(boxes)} of {len(images)} photos have drafted boxes", file=sys.stderr)
    sheets(images, boxes, out)


if __name__ == "__main__":
    main()
