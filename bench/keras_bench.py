"""Keras 3 on JAX, the native reference of ./build.sh bench (issue 6).

Run by bench/run.mjs (`./build.sh bench --with-keras`) with the virtualenv's python, pinned to
one core (taskset -c 0, XLA's Eigen thread pool off, its classic CPU runtime). It reads the bench's images and labels
(raw float32 (N, 64, 64, 3) and uint8 (N) files that run.mjs wrote, the same synthetic set
convscope and TensorFlow.js train on), builds the chapter's model, and prints one JSON object:
epoch seconds (one warm-up epoch that also compiles, then the timed ones) and 150-image
inference seconds. By hand:

    KERAS_BACKEND=jax taskset -c 0 python bench/keras_bench.py IMAGES LABELS [EPOCHS] [REPS] [BATCH]
"""

import json
import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
# One thread, and XLA's classic CPU runtime (twice as fast on this model as the "thunk" one).
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false --xla_cpu_use_thunk_runtime=false")

import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402


def chapter_model():
    def block(filters):
        return [
            layers.Conv2D(filters, 5, padding="same", activation="relu"),
            layers.BatchNormalization(),
            layers.MaxPooling2D(2),
            layers.Dropout(0.1),
        ]

    model = keras.Sequential(
        [keras.Input((64, 64, 3)), *block(16), *block(32), layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dense(1, activation="sigmoid")]
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy", metrics=["accuracy"])
    return model


class EpochTimes(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)


def main():
    images_path, labels_path = sys.argv[1], sys.argv[2]
    epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    reps = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    batch = int(sys.argv[5]) if len(sys.argv) > 5 else 32
    y = np.fromfile(labels_path, dtype=np.uint8).astype(np.float32)
    x = np.fromfile(images_path, dtype=np.float32).reshape(len(y), 64, 64, 3)
    keras.utils.set_random_seed(1)
    model = chapter_model()
    times = EpochTimes()
    history = model.fit(x, y, batch_size=batch, epochs=1 + epochs, shuffle=True, verbose=0, callbacks=[times])
    infer = x[: min(150, len(x))]
    model.predict(infer, batch_size=batch, verbose=0)  # warm-up: compiles the inference function
    infer_s = []
    for _ in range(reps):
        t = time.perf_counter()
        model.predict(infer, batch_size=batch, verbose=0)
        infer_s.append(time.perf_counter() - t)
    print(
        json.dumps(
            {
                "keras": keras.__version__,
                "backend": keras.backend.backend(),
                "params": model.count_params(),
                "cpus_allowed": len(os.sched_getaffinity(0)),
                "warmup_epoch_s": times.seconds[0],
                "epoch_s": times.seconds[1:],
                "losses": [float(v) for v in history.history["loss"]],
                "infer_count": len(infer),
                "infer_s": infer_s,
            }
        )
    )


if __name__ == "__main__":
    main()
