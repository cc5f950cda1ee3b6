"""The NumPy chart drawing of ganzoo.plotting: where lines, bands and text land on the canvas."""

import numpy as np
import pytest
import tensorflow as tf

from ganzoo.plotting import GLYPHS, UNKNOWN_GLYPH, Canvas, format_number

WHITE = (255, 255, 255)
RED = (220, 30, 30)


def drawn(canvas):
    """A [height, width] mask of the pixels that differ from the background."""
    return np.any(canvas.pixels != np.array(canvas.background, np.uint8), axis=-1)


def panel_mask(canvas, panel):
    mask = np.zeros(canvas.pixels.shape[:2], bool)
    mask[panel.y:panel.y + panel.height, panel.x:panel.x + panel.width] = True
    return mask


def area_mask(canvas, panel):
    left, top, right, bottom = panel.area
    mask = np.zeros(canvas.pixels.shape[:2], bool)
    mask[top:bottom + 1, left:right + 1] = True
    return mask


def test_hline_colours_the_middle_row_of_the_plot_area_and_nothing_outside_the_panel():
    canvas = Canvas(200, 300)
    panel = canvas.panel(20, 30, 200, 121)
    panel.hline(0.5, RED)
    left, top, right, bottom = panel.area
    middle = (top + bottom) // 2
    assert middle == panel.y + panel.height // 2  # equal top and bottom margins
    rows, columns = np.nonzero(drawn(canvas))
    assert set(rows) == {middle}
    assert columns.min() == left and columns.max() == right
    assert np.all(canvas.pixels[middle, left:right + 1] == RED)
    assert not np.any(drawn(canvas) & ~panel_mask(canvas, panel))


def test_a_line_stays_inside_the_plot_area_and_is_clipped_to_its_edge():
    canvas = Canvas(200, 300)
    panel = canvas.panel(20, 30, 200, 120)
    panel.set_ranges((0, 10), (0, 1))
    panel.line([-5, 5, 10], [0.5, 40.0, -3.0], RED, thickness=3)  # far above, then far below the range
    left, top, right, bottom = panel.area
    mask = drawn(canvas)
    assert not np.any(mask & ~area_mask(canvas, panel))
    (above_from, above_to, below_from), _ = panel.to_pixels([1, 4, 9.8], [0, 0, 0])
    assert mask[top, int(above_from):int(above_to)].all()  # the clipped parts run along the edges
    assert mask[bottom, int(below_from) + 1:right + 1].all()
    assert mask[top:(top + bottom) // 2, left].all()  # before x=0 (out of the x range) it rises along the left edge


def test_a_line_has_no_holes():
    canvas = Canvas(200, 300)
    panel = canvas.panel(0, 0, 300, 200)
    panel.set_ranges((0, 1), (0, 1))
    panel.line([0, 1], [0, 1], RED, thickness=1)  # a steep diagonal across the whole area
    left, top, right, bottom = panel.area
    rows, columns = np.nonzero(drawn(canvas))
    assert set(rows) == set(range(top, bottom + 1))
    assert set(columns) == set(range(left, right + 1))


def test_log_y_puts_10_halfway_between_1_and_100_and_drops_values_that_are_not_positive():
    canvas = Canvas(200, 300)
    panel = canvas.panel(0, 0, 300, 200)
    panel.set_ranges((0, 1), (1, 100), log_y=True)
    _, rows = panel.to_pixels([0, 0, 0], [1, 10, 100])
    assert rows[1] == pytest.approx((rows[0] + rows[2]) / 2)
    assert rows[0] == panel.area[3] and rows[2] == panel.area[1]  # low at the bottom, high at the top
    _, rows = panel.to_pixels([0, 0], [0.0, -1.0])
    assert np.all(np.isnan(rows))
    panel.line([0.2, 0.8], [0.0, -5.0], RED)
    panel.points([0.5], [0.0], RED)
    assert not drawn(canvas).any()


def test_nan_breaks_a_line():
    canvas = Canvas(100, 300)
    panel = canvas.panel(0, 0, 300, 100)
    panel.set_ranges((0, 4), (0, 1))
    panel.line([0, 1, 2, 3, 4], [0.5, 0.5, np.nan, 0.5, 0.5], RED, thickness=2)
    columns, _ = panel.to_pixels([1, 3], [0.5, 0.5])
    mask = drawn(canvas)
    assert mask[:, int(columns[0]) - 5].any() and mask[:, int(columns[1]) + 5].any()
    assert not mask[:, int(columns[0]) + 2:int(columns[1]) - 1].any()


def test_inf_breaks_a_line_too():
    canvas = Canvas(100, 300)
    panel = canvas.panel(0, 0, 300, 100)
    panel.set_ranges((0, 2), (0, 1))
    panel.line([0, 1, 2], [0.5, np.inf, 0.5], RED)
    columns, _ = panel.to_pixels([0, 2], [0.5, 0.5])
    mask = drawn(canvas)
    assert mask[:, int(columns[0])].any() and mask[:, int(columns[1])].any()
    assert not mask[:, int(columns[0]) + 2:int(columns[1]) - 1].any()


def test_empty_input_draws_nothing_and_a_single_point_draws_a_dot():
    canvas = Canvas(100, 200)
    panel = canvas.panel(0, 0, 200, 100)
    panel.line([], [], RED)
    panel.points([], [], RED)
    panel.legend([])
    assert not drawn(canvas).any()
    panel.line([0.5], [0.5], RED, thickness=3)
    rows, columns = np.nonzero(drawn(canvas))
    assert len(rows) == 9
    column, row = panel.to_pixels(0.5, 0.5)
    assert abs(rows.mean() - row) <= 0.5 and abs(columns.mean() - column) <= 0.5


def test_an_empty_range_is_padded_and_its_value_drawn_mid_panel():
    canvas = Canvas(100, 200)
    panel = canvas.panel(0, 0, 200, 100)
    panel.set_ranges((5, 5), (0.3, 0.3))
    columns, rows = panel.to_pixels([5], [0.3])
    left, top, right, bottom = panel.area
    assert columns[0] == pytest.approx((left + right) / 2) and rows[0] == pytest.approx((top + bottom) / 2)
    panel.set_ranges((0, 0), (0, 0))
    panel.line([0, 0], [0, 0], RED)
    panel.frame("flat")
    assert drawn(canvas).any()


def test_band_blends_with_the_background_between_its_ends():
    canvas = Canvas(100, 300)
    panel = canvas.panel(0, 0, 300, 100)
    panel.set_ranges((0, 10), (0, 1))
    panel.band(2, 4, (0, 0, 255), alpha=0.25)
    (start, end), _ = panel.to_pixels([2, 4], [0.5, 0.5])
    left, top, right, bottom = panel.area
    inside = canvas.pixels[(top + bottom) // 2, int(start) + 1]
    assert list(inside) == [191, 191, 255]  # a quarter of the way from white to blue
    assert drawn(canvas)[top:bottom + 1, int(start) + 1:int(end)].all()
    assert not drawn(canvas)[:, :int(start) - 1].any() and not drawn(canvas)[:, int(end) + 2:].any()
    assert not drawn(canvas)[:top].any() and not drawn(canvas)[bottom + 1:].any()
    before = canvas.pixels.copy()
    panel.band(20, 30, (0, 0, 255))  # wholly outside the x range
    assert np.array_equal(canvas.pixels, before)
    panel.band(6, np.inf, (0, 0, 255))  # to the right edge
    (six,), _ = panel.to_pixels([6], [0.5])
    assert drawn(canvas)[top:bottom + 1, int(six) + 1:right + 1].all() and not drawn(canvas)[:, right + 1:].any()
    assert not drawn(canvas)[:, int(end) + 2:int(six) - 1].any()


def test_hline_and_vline_outside_the_range_draw_nothing_and_dashes_have_gaps():
    canvas = Canvas(100, 200)
    panel = canvas.panel(0, 0, 200, 100)
    panel.hline(2.0, RED)
    panel.vline(-1.0, RED)
    assert not drawn(canvas).any()
    panel.vline(0.5, RED, dashed=True)
    rows, columns = np.nonzero(drawn(canvas))
    left, top, right, bottom = panel.area
    assert len(set(columns)) == 1 and rows.min() == top
    assert 0.4 * (bottom - top + 1) <= len(rows) <= 0.6 * (bottom - top + 1)


def test_text_is_drawn_within_its_returned_width():
    canvas = Canvas(40, 200)
    end = canvas.text(10, 5, "Loss: 1.5E-3", scale=2)
    assert end == 10 + Canvas.text_width("Loss: 1.5E-3", scale=2)
    rows, columns = np.nonzero(drawn(canvas))
    assert columns.min() >= 10 and columns.max() < end and columns.min() <= 11
    assert rows.min() >= 5 and rows.max() < 5 + 14
    assert Canvas.text_width("") == 0 and canvas.text(3, 3, "") == 3


def test_lowercase_is_drawn_as_uppercase_and_unknown_characters_as_a_box():
    lower, upper, unknown = Canvas(10, 40), Canvas(10, 40), Canvas(10, 10)
    lower.text(0, 0, "abc")
    upper.text(0, 0, "ABC")
    assert np.array_equal(lower.pixels, upper.pixels)
    unknown.text(0, 0, "~")
    assert np.array_equal(drawn(unknown)[:7, :5], UNKNOWN_GLYPH)


def test_the_font_has_a_distinct_glyph_for_every_character_it_needs():
    for char in "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789%.-+,:()/=<>_'!?[]":
        assert GLYPHS[char].shape == (7, 5) and GLYPHS[char].any(), char
        assert not np.array_equal(GLYPHS[char], UNKNOWN_GLYPH), char
    assert not GLYPHS[" "].any()
    shapes = {glyph.tobytes() for glyph in GLYPHS.values()}
    assert len(shapes) == len(GLYPHS)  # no copy-paste slip in the font table


def test_paste_clips_at_the_edges_and_broadcasts_grey():
    canvas = Canvas(20, 30)
    colour = np.full((10, 10, 3), 7, np.uint8)
    canvas.paste(-5, -5, colour)
    canvas.paste(25, 15, colour)
    canvas.paste(40, 40, colour)  # wholly outside
    assert drawn(canvas).sum() == 25 + 25
    assert np.all(canvas.pixels[:5, :5] == 7) and np.all(canvas.pixels[15:, 25:] == 7)
    canvas.paste(10, 5, np.full((4, 6, 1), 100, np.uint8))
    assert np.all(canvas.pixels[5:9, 10:16] == 100)
    with pytest.raises(ValueError, match="uint8"):
        canvas.paste(0, 0, np.zeros((2, 2, 3), np.float32))


@pytest.mark.parametrize("value, label", [
    (0, "0"), (12000, "12K"), (1500, "1.5K"), (999999, "1M"), (2.5e9, "2.5G"), (0.0012, "1.2E-3"),
    (-0.0012, "-1.2E-3"), (0.5, "0.5"), (123.456, "123"), (-3, "-3"), (1e-12, "1E-12"), (float("nan"), "NAN"),
])
def test_format_number_is_compact(value, label):
    assert format_number(value) == label


def test_a_framed_report_with_legend_encodes_as_png():
    canvas = Canvas(160, 400)
    panel = canvas.panel(0, 0, 400, 160)
    steps = np.arange(0, 12001, 500)
    panel.set_ranges((0, 12000), (1e-3, 10), log_y=True)
    panel.band(3000, 4000, (250, 200, 60))
    panel.line(steps, np.exp(-steps / 3000), RED)
    panel.hline(1.0, (120, 120, 120), dashed=True)
    panel.frame("Gradient norm")
    panel.legend([("g", RED), ("d", (40, 90, 200))])
    left, top, right, bottom = panel.area
    mask = drawn(canvas)
    assert mask[:top - 1, :left].any()  # title
    assert mask[:top - 1, right - 40:].any()  # legend
    assert mask[bottom + 2:, left:left + 10].any() and mask[bottom + 2:, right - 10:right + 1].any()  # x labels
    assert mask[top:top + 7, :left - 1].any() and mask[bottom - 6:bottom + 1, :left - 1].any()  # y labels
    png = tf.io.encode_png(canvas.pixels).numpy()
    assert np.array_equal(tf.io.decode_png(png).numpy(), canvas.pixels)


def test_bad_ranges_and_panels_are_refused():
    canvas = Canvas(100, 200)
    with pytest.raises(ValueError, match="positive"):
        canvas.panel(0, 0, 200, 100).set_ranges((0, 1), (0, 10), log_y=True)
    with pytest.raises(ValueError, match="finite"):
        canvas.panel(0, 0, 200, 100).set_ranges((0, np.nan), (0, 1))
    with pytest.raises(ValueError, match="fit"):
        canvas.panel(100, 0, 200, 100)
