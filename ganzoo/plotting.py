"""Line charts drawn with NumPy into a uint8 RGB picture, for `ganzoo diagnose`'s report of a run's
health. ganzoo does not depend on a plotting library, so a Canvas holds the pixels and a small bitmap
font, and a Panel draws one chart (lines, points, reference lines, shaded event spans, a legend) in a
rectangle of it. `ganzoo.callbacks.write_png` saves the picture."""

import math

import numpy as np

# A 5x7 bitmap font: per glyph, 7 rows of 5 bits as two hex digits each (bit 4 is the left column).
_FONT_HEX = {
    "A": "0E1111111F1111", "B": "1E11111E11111E", "C": "0E11101010110E", "D": "1C12111111121C",
    "E": "1F10101E10101F", "F": "1F10101E101010", "G": "0E11101711110F", "H": "1111111F111111",
    "I": "0E04040404040E", "J": "0702020202120C", "K": "11121418141211", "L": "1010101010101F",
    "M": "111B1515111111", "N": "11111915131111", "O": "0E11111111110E", "P": "1E11111E101010",
    "Q": "0E11111115120D", "R": "1E11111E141211", "S": "0F10100E01011E", "T": "1F040404040404",
    "U": "1111111111110E", "V": "11111111110A04", "W": "1111111515150A", "X": "11110A040A1111",
    "Y": "1111110A040404", "Z": "1F01020408101F", "0": "0E11131519110E", "1": "040C040404040E",
    "2": "0E11010204081F", "3": "1F02040201110E", "4": "02060A121F0202", "5": "1F101E0101110E",
    "6": "0608101E11110E", "7": "1F010204080808", "8": "0E11110E11110E", "9": "0E11110F01020C",
    " ": "00000000000000", ".": "00000000000C0C", ",": "000000000C0408", "-": "0000001F000000",
    "+": "0004041F040400", "%": "18190204081303", ":": "000C0C000C0C00", "(": "02040808080402",
    ")": "08040202020408", "/": "00010204081000", "=": "00001F001F0000", "<": "02040810080402",
    ">": "08040201020408", "_": "0000000000001F", "'": "0C040800000000", "!": "04040404000004",
    "?": "0E110102040004", "[": "0E08080808080E", "]": "0E02020202020E",
}
_UNKNOWN_HEX = "001F1111111F00"  # a small box, so a missing glyph shows instead of vanishing


def _decode(hex_rows):
    return (np.array(list(bytes.fromhex(hex_rows)))[:, None] >> np.arange(4, -1, -1)) & 1 == 1


GLYPHS = {char: _decode(rows) for char, rows in _FONT_HEX.items()}
UNKNOWN_GLYPH = _decode(_UNKNOWN_HEX)
GLYPH_WIDTH, GLYPH_HEIGHT = 5, 7


def format_number(value):
    """A short label for an axis: 12000 -> "12K", 0.0012 -> "1.2E-3", 0.5 -> "0.5" (3 significant digits)."""
    value = float(value)
    if not math.isfinite(value):
        return "NAN" if math.isnan(value) else ("INF" if value > 0 else "-INF")
    value = float(f"{value:.3g}")  # round first, so 999999 becomes "1M" rather than "1000K"
    magnitude = abs(value)
    if magnitude == 0:
        return "0"
    if magnitude < 0.01 or magnitude >= 1e15:
        mantissa, exponent = f"{value:.2e}".split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}E{int(exponent)}"
    for threshold, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if magnitude >= threshold:
            return f"{value / threshold:g}{suffix}"
    return f"{value:g}"


class Canvas:
    """A uint8 RGB picture [height, width, 3] (`pixels`), white unless told, to draw text and charts on."""

    def __init__(self, height, width, background=(255, 255, 255)):
        self.background = tuple(int(c) for c in background)
        self.pixels = np.empty((int(height), int(width), 3), np.uint8)
        self.pixels[:] = self.background

    @staticmethod
    def text_width(string, scale=1):
        """The width in pixels of `string` in the 5x7 font: 5 per glyph, 1 between glyphs, times scale."""
        return max(0, len(string) * (GLYPH_WIDTH + 1) - 1) * scale

    def text(self, x, y, string, color=(0, 0, 0), scale=1):
        """Draws `string` with its top-left at (x, y), lowercase as uppercase; returns the x after it."""
        for i, char in enumerate(string):
            glyph = GLYPHS.get(char.upper(), UNKNOWN_GLYPH)
            mask = glyph.repeat(scale, axis=0).repeat(scale, axis=1)
            self._paint_mask(x + i * (GLYPH_WIDTH + 1) * scale, y, mask, color)
        return x + self.text_width(string, scale)

    def _paint_mask(self, x, y, mask, color):
        rows, cols = np.nonzero(mask)
        rows, cols = rows + y, cols + x
        inside = (rows >= 0) & (rows < self.pixels.shape[0]) & (cols >= 0) & (cols < self.pixels.shape[1])
        self.pixels[rows[inside], cols[inside]] = color

    def paste(self, x, y, picture):
        """Copies a uint8 picture [h, w, 3] (or grey [h, w, 1] or [h, w]) with its top-left at (x, y);
        whatever falls outside the canvas is cut off."""
        picture = np.asarray(picture)
        if picture.dtype != np.uint8:
            raise ValueError(f"paste needs a uint8 picture; got {picture.dtype}.")
        if picture.ndim == 2:
            picture = picture[:, :, None]
        height, width = self.pixels.shape[:2]
        top, left = max(y, 0), max(x, 0)
        bottom, right = min(y + picture.shape[0], height), min(x + picture.shape[1], width)
        if bottom > top and right > left:
            self.pixels[top:bottom, left:right] = picture[top - y:bottom - y, left - x:right - x]  # grey broadcasts

    def panel(self, x, y, width, height):
        """A chart in the rectangle of this canvas with top-left (x, y)."""
        return Panel(self, x, y, width, height)


class Panel:
    """A chart in a rectangle of a Canvas: an x range (e.g. training steps, shared by the panels of a
    report so that they line up), its own y range, linear or log y.

    The rectangle keeps margins for the title and legend (top), y labels (left) and x labels (bottom);
    data is drawn in the plot area inside them, `area` = (left, top, right, bottom) canvas pixels,
    inclusive, with the y axis growing upward. Nothing is drawn outside the plot area but the frame,
    title, labels and legend.
    """

    MARGINS = (50, 12, 4, 12)  # left (fits "-1.23E-4"), top, right, bottom
    LABEL_COLOR, FRAME_COLOR = (90, 90, 90), (200, 200, 200)

    def __init__(self, canvas, x, y, width, height):
        self.canvas = canvas
        self.x, self.y, self.width, self.height = x, y, width, height
        left, top, right, bottom = self.MARGINS
        self.area = (x + left, y + top, x + width - 1 - right, y + height - 1 - bottom)
        if x < 0 or y < 0 or x + width > canvas.pixels.shape[1] or y + height > canvas.pixels.shape[0]:
            raise ValueError(f"A panel at ({x}, {y}) of {width}x{height} pixels does not fit in the canvas.")
        if self.area[2] - self.area[0] < 2 or self.area[3] - self.area[1] < 2:
            raise ValueError(f"A panel of {width}x{height} pixels leaves no room for a chart.")
        self.set_ranges((0, 1), (0, 1))

    def set_ranges(self, x_range, y_range, log_y=False):
        """Sets the (low, high) data ranges; with log_y the y axis is logarithmic and values <= 0 are
        not drawn. An empty range (low == high) is padded so that its value shows mid-panel."""
        x_range = self._padded(*sorted(float(v) for v in x_range))
        y_range = sorted(float(v) for v in y_range)
        if log_y:
            if y_range[0] <= 0:
                raise ValueError(f"A log y axis needs a positive range; got {tuple(y_range)}.")
            y_range = np.log10(y_range)
        self.x_range, self.y_range, self.log_y = x_range, self._padded(*y_range), log_y

    @staticmethod
    def _padded(low, high):
        if not (math.isfinite(low) and math.isfinite(high)):
            raise ValueError(f"A chart range must be finite; got ({low}, {high}).")
        if low == high:
            pad = abs(low) * 0.1 or 0.5
            low, high = low - pad, high + pad
        return low, high

    def to_pixels(self, xs, ys):
        """Data coordinates -> float canvas (column, row); NaN where a value cannot be drawn."""
        xs, ys = np.asarray(xs, np.float64), np.asarray(ys, np.float64)
        if self.log_y:
            with np.errstate(divide="ignore", invalid="ignore"):
                ys = np.where(ys > 0, np.log10(np.where(ys > 0, ys, 1)), np.nan)
        left, top, right, bottom = self.area
        (y0, y1) = self.y_range
        columns = self._columns(xs)
        rows = bottom - (ys - y0) / (y1 - y0) * (bottom - top)
        bad = ~(np.isfinite(columns) & np.isfinite(rows))  # inf data is a gap too, not a clipped point
        return np.where(bad, np.nan, columns), np.where(bad, np.nan, rows)

    def _columns(self, xs):
        (x0, x1), (left, _, right, _) = self.x_range, self.area
        return left + (np.asarray(xs, np.float64) - x0) / (x1 - x0) * (right - left)

    def _paint(self, columns, rows, color):
        """Colours the pixels at integer (column, row) inside the plot area."""
        left, top, right, bottom = self.area
        inside = (columns >= left) & (columns <= right) & (rows >= top) & (rows <= bottom)
        self.canvas.pixels[rows[inside], columns[inside]] = color

    def _squares(self, columns, rows, color, size):
        offsets = np.arange(size) - (size - 1) // 2
        columns, rows = np.round(columns).astype(int), np.round(rows).astype(int)
        for dx in offsets:
            for dy in offsets:
                self._paint(columns + dx, rows + dy, color)

    def _edge_pieces(self, c0, r0, c1, r1):
        """Splits pixel segments where they cross the lines of the plot area's edges and clamps the pieces'
        ends to the area, so that each piece lies inside or runs along an edge (a clipped line, with no
        slope bent by clamping only the segment's ends)."""
        left, top, right, bottom = self.area
        dc, dr = c1 - c0, r1 - r0
        with np.errstate(divide="ignore", invalid="ignore"):
            crossings = np.stack([(left - c0) / dc, (right - c0) / dc, (top - r0) / dr, (bottom - r0) / dr], 1)
        crossings = np.where((crossings > 0) & (crossings < 1), crossings, 1.0)  # NaN compares False
        t = np.sort(np.concatenate([np.zeros_like(crossings[:, :1]), crossings, np.ones_like(crossings[:, :1])], 1))
        columns = np.clip(c0[:, None] + t * dc[:, None], left, right)
        rows = np.clip(r0[:, None] + t * dr[:, None], top, bottom)
        return columns[:, :-1].ravel(), rows[:, :-1].ravel(), columns[:, 1:].ravel(), rows[:, 1:].ravel()

    def line(self, xs, ys, color, thickness=2):
        """A polyline through the points; NaN or inf values (and values <= 0 on a log axis) leave a gap,
        and where it leaves the ranges it runs along the edge of the plot area."""
        columns, rows = self.to_pixels(xs, ys)
        if columns.size == 0:
            return
        valid = ~np.isnan(columns)
        joined = valid[:-1] & valid[1:]
        starts, ends = (columns[:-1][joined], rows[:-1][joined]), (columns[1:][joined], rows[1:][joined])
        c0, r0, c1, r1 = self._edge_pieces(*starts, *ends)
        dc, dr = c1 - c0, r1 - r0
        # One sample per pixel along the longer side of each piece, so that the line has no holes.
        counts = (np.ceil(np.maximum(np.abs(dc), np.abs(dr))) + 1).astype(int)
        segment = np.repeat(np.arange(counts.size), counts)
        step = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        t = step / np.maximum(counts[segment] - 1, 1)
        left, top, right, bottom = self.area
        lone_columns, lone_rows = np.clip(columns[valid], left, right), np.clip(rows[valid], top, bottom)
        self._squares(np.concatenate([c0[segment] + t * dc[segment], lone_columns]),
                      np.concatenate([r0[segment] + t * dr[segment], lone_rows]), color, thickness)

    def points(self, xs, ys, color, radius=2):
        """A square dot of side 2*radius+1 at each point; points outside the ranges are not drawn."""
        columns, rows = self.to_pixels(xs, ys)
        left, top, right, bottom = self.area
        with np.errstate(invalid="ignore"):
            inside = (columns >= left) & (columns <= right) & (rows >= top) & (rows <= bottom)
        self._squares(columns[inside], rows[inside], color, 2 * radius + 1)

    def _dash(self, length, dashed):
        along = np.arange(length)
        return along[(along // 4) % 2 == 0] if dashed else along  # 4 pixels on, 4 off

    def hline(self, y, color, dashed=False):
        """A horizontal reference line across the plot area at data y (not drawn if outside the range)."""
        row = self.to_pixels(self.x_range[0], y)[1]
        left, top, right, bottom = self.area
        if np.isfinite(row) and top - 0.5 <= row <= bottom + 0.5:
            columns = left + self._dash(right - left + 1, dashed)
            self._paint(columns, np.full_like(columns, int(np.round(row))), color)

    def vline(self, x, color, dashed=False):
        """A vertical reference line down the plot area at data x (not drawn if outside the range)."""
        column = self._columns(x)
        left, top, right, bottom = self.area
        if np.isfinite(column) and left - 0.5 <= column <= right + 0.5:
            rows = top + self._dash(bottom - top + 1, dashed)
            self._paint(np.full_like(rows, int(np.round(column))), rows, color)

    def band(self, x_start, x_end, color, alpha=0.25, rows=None):
        """Shades the span of x from x_start to x_end over the plot area (or over its rows
        `rows` = (first, last), counted from the area's top), blended with what is there (so lines
        drawn before stay visible); an infinite end reaches the edge."""
        left, top, right, bottom = self.area
        if rows is not None:
            top, bottom = top + rows[0], min(top + rows[1], bottom)
        ends = self._columns([x_start, x_end])
        if np.isnan(ends).any():
            return
        start, end = np.clip(np.round(np.sort(ends)), left - 1, right + 1).astype(int)
        start, end = max(start, left), min(end, right)
        if start > end:
            return  # the span lies wholly outside the x range
        region = self.canvas.pixels[top:bottom + 1, start:end + 1].astype(np.float32)
        blended = (1 - alpha) * region + alpha * np.asarray(color, np.float32)
        self.canvas.pixels[top:bottom + 1, start:end + 1] = np.round(blended).astype(np.uint8)

    def frame(self, title=None):
        """A light grey border round the plot area, the title at the top-left, and the y range's ends
        at the left and the x range's ends below."""
        left, top, right, bottom = self.area
        pixels = self.canvas.pixels
        pixels[top - 1, left - 1:right + 2] = pixels[bottom + 1, left - 1:right + 2] = self.FRAME_COLOR
        pixels[top - 1:bottom + 2, left - 1] = pixels[top - 1:bottom + 2, right + 1] = self.FRAME_COLOR
        if title:
            self.canvas.text(self.x + 1, self.y + 2, title)
        y_low, y_high = (10 ** v if self.log_y else v for v in self.y_range)
        for value, row in ((y_high, top), (y_low, bottom - GLYPH_HEIGHT + 1)):
            label = format_number(value)
            self.canvas.text(left - 3 - Canvas.text_width(label), row, label, self.LABEL_COLOR)
        low_label, high_label = (format_number(v) for v in self.x_range)
        self.canvas.text(left, bottom + 3, low_label, self.LABEL_COLOR)
        self.canvas.text(right + 1 - Canvas.text_width(high_label), bottom + 3, high_label, self.LABEL_COLOR)

    def legend(self, entries):
        """[(label, color), ...] in a row at the top-right of the panel, each a colour swatch and its label."""
        pieces = [(label, color, 9 + Canvas.text_width(label)) for label, color in entries]
        x = self.x + self.width - 1 - self.MARGINS[2] - sum(width + 8 for *_, width in pieces) + 8
        for label, color, width in pieces:
            self.canvas.pixels[self.y + 2:self.y + 9, max(x, self.x):max(x + 7, self.x)] = color
            self.canvas.text(x + 9, self.y + 2, label, self.LABEL_COLOR)
            x += width + 8
