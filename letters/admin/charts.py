"""Bar charts drawn on the server as SVG (templates/admin/letters/charts/*.svg): the geometry
here, the markup in the templates. Readable without colour: the two channels differ by fill
pattern as well as colour, every bar has its value as a tooltip (<title>), and each chart is
followed by its figures in a table."""

from dataclasses import dataclass

WIDTH, HEIGHT = 560, 240
LEFT, BOTTOM, TOP, RIGHT = 40, 28, 12, 8


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


def _ticks(highest):
    """Up to five round values for the vertical axis."""
    if highest <= 0:
        return [0]
    step = 1
    while highest / step > 5:
        step *= 5 if str(step)[0] == "2" else 2
    return list(range(0, highest + 1, step))


def stacked_days(days):
    """Letters per day, web below email: `days` is [(date, web, email)]."""
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    highest = max((web + email for _, web, email in days), default=0)
    scale = plot_height / highest if highest else 0
    slot = plot_width / max(len(days), 1)
    bars, labels = [], []
    every = max(len(days) // 8, 1)
    for n, (day, web, email) in enumerate(days):
        x = LEFT + n * slot + slot * 0.1
        base = TOP + plot_height
        for value, css, name in ((web, "bar-web", "web form"), (email, "bar-email", "email")):
            if value:
                height = value * scale
                base -= height
                bars.append(
                    Bar(x, base, slot * 0.8, height, css, f"{day:%-d %b}: {value} by {name}")
                )
        if n % every == 0:
            labels.append((x + slot * 0.4, f"{day:%-d %b}"))
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "bars": bars,
        "labels": labels,
        "label_y": HEIGHT - 8,
        "ticks": [(TOP + plot_height - t * scale, t) for t in _ticks(highest)],
        "axis": {"x": LEFT, "y0": TOP, "y1": TOP + plot_height, "x1": WIDTH - RIGHT},
    }


def horizontal(rows, *, label_width=210, width=480):
    """Horizontal bars with their labels: `rows` is [(label, value)]."""
    row_height = 22
    height = TOP + row_height * max(len(rows), 1) + 8
    highest = max((value for _, value in rows), default=0)
    room = width - label_width - RIGHT - 40
    bars = []
    for n, (label, value) in enumerate(rows):
        y = TOP + n * row_height
        length = room * value / highest if highest else 0
        bars.append(
            {
                "bar": Bar(label_width, y + 3, length, row_height - 6, "bar", f"{label}: {value}"),
                "label": label if len(label) <= 32 else label[:31] + "…",
                "value": value,
                "label_x": label_width - 6,
                "value_x": label_width + length + 4,
                "text_y": y + row_height - 6,
            }
        )
    return {"width": width, "height": height, "rows": bars, "axis_x": label_width}
