"""Bring your own teacher: fit a teacher softhard did not train and write its logits.

The teacher here is scikit-learn's logistic regression on the 8x8 digits 3 vs 8 (bundled with
scikit-learn, no download). Any model works: what softhard needs is one logit per example, in
the order of ``softhard.load_dataset(task)``'s training and test splits.

    python examples/byo_teacher/make_teacher.py        # writes teacher_logits.npz beside this file
    softhard min-width examples/byo_teacher/minwidth.yaml
"""

from pathlib import Path

from sklearn.linear_model import LogisticRegression

from softhard.config import DataConfig
from softhard.data import load_dataset
from softhard.teachers import write_teacher_logits

TASK = "digits:3-8"  # the same task as in minwidth.yaml


def main(out: Path = Path(__file__).with_name("teacher_logits.npz")) -> Path:
    dataset = load_dataset(DataConfig.parse(TASK))
    x_train, x_test = (x.numpy() for x in dataset.flat())
    teacher = LogisticRegression(C=1.0, max_iter=5000).fit(x_train, dataset.y_train.numpy())
    path = write_teacher_logits(
        out,
        dataset,
        teacher.decision_function(x_train),  # the logit of class 1 (label +1): digit 8
        teacher.decision_function(x_test),
    )
    print(
        f"wrote {path}: teacher test accuracy {teacher.score(x_test, dataset.y_test.numpy()):.4f}"
    )
    return path


if __name__ == "__main__":
    main()
