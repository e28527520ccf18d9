//! A small multi-line text editor with soft wrapping. Positions are counted in
//! characters, never bytes, so cursor movement and deletion work for Chinese
//! text entered through an input method; [`Editor::layout`] tells where the
//! terminal's real cursor goes, so the input method's candidate window appears
//! at the insertion point. (ratatui-textarea does not soft-wrap, which a body
//! editor for Chinese text needs.)

use crate::tui::widgets::text::{char_width, wrap_line};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Editor {
    lines: Vec<Vec<char>>,
    row: usize,
    col: usize,
    /// Single-line editors ignore Enter.
    pub single_line: bool,
}

/// The wrapped view of an editor.
pub struct Layout {
    pub rows: Vec<String>,
    /// Cursor position: (wrapped row, column in cells).
    pub cursor: (usize, usize),
}

impl Editor {
    pub fn new(single_line: bool) -> Self {
        Editor {
            lines: vec![Vec::new()],
            row: 0,
            col: 0,
            single_line,
        }
    }

    pub fn text(&self) -> String {
        self.lines
            .iter()
            .map(|l| l.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn set_text(&mut self, s: &str) {
        self.lines = s.split('\n').map(|l| l.chars().collect()).collect();
        self.row = self.lines.len() - 1;
        self.col = self.lines[self.row].len();
    }

    pub fn is_empty(&self) -> bool {
        self.lines.iter().all(Vec::is_empty)
    }

    /// (line, char column)
    pub fn cursor(&self) -> (usize, usize) {
        (self.row, self.col)
    }

    pub fn insert(&mut self, c: char) {
        if c == '\n' {
            return self.newline();
        }
        if c.is_control() && c != '\t' {
            return;
        }
        self.lines[self.row].insert(self.col, c);
        self.col += 1;
    }

    pub fn insert_str(&mut self, s: &str) {
        for c in s.chars() {
            if c == '\n' && self.single_line {
                self.insert(' ');
            } else if c != '\r' {
                self.insert(c);
            }
        }
    }

    pub fn newline(&mut self) {
        if self.single_line {
            return;
        }
        let rest = self.lines[self.row].split_off(self.col);
        self.lines.insert(self.row + 1, rest);
        self.row += 1;
        self.col = 0;
    }

    pub fn backspace(&mut self) {
        if self.col > 0 {
            self.col -= 1;
            self.lines[self.row].remove(self.col);
        } else if self.row > 0 {
            let line = self.lines.remove(self.row);
            self.row -= 1;
            self.col = self.lines[self.row].len();
            self.lines[self.row].extend(line);
        }
    }

    pub fn delete(&mut self) {
        if self.col < self.lines[self.row].len() {
            self.lines[self.row].remove(self.col);
        } else if self.row + 1 < self.lines.len() {
            let next = self.lines.remove(self.row + 1);
            self.lines[self.row].extend(next);
        }
    }

    pub fn left(&mut self) {
        if self.col > 0 {
            self.col -= 1;
        } else if self.row > 0 {
            self.row -= 1;
            self.col = self.lines[self.row].len();
        }
    }

    pub fn right(&mut self) {
        if self.col < self.lines[self.row].len() {
            self.col += 1;
        } else if self.row + 1 < self.lines.len() {
            self.row += 1;
            self.col = 0;
        }
    }

    pub fn home(&mut self) {
        self.col = 0;
    }

    pub fn end(&mut self) {
        self.col = self.lines[self.row].len();
    }

    /// Move up/down by logical line, keeping the display column where possible.
    pub fn up(&mut self) {
        if self.row > 0 {
            let x = self.display_col();
            self.row -= 1;
            self.col = self.col_at(x);
        }
    }

    pub fn down(&mut self) {
        if self.row + 1 < self.lines.len() {
            let x = self.display_col();
            self.row += 1;
            self.col = self.col_at(x);
        }
    }

    fn display_col(&self) -> usize {
        self.lines[self.row][..self.col]
            .iter()
            .map(|c| char_width(*c))
            .sum()
    }

    fn col_at(&self, x: usize) -> usize {
        let mut w = 0;
        for (i, c) in self.lines[self.row].iter().enumerate() {
            if w + char_width(*c) > x {
                return i;
            }
            w += char_width(*c);
        }
        self.lines[self.row].len()
    }

    /// Wrap to `cols` columns and place the cursor.
    pub fn layout(&self, cols: usize) -> Layout {
        let mut rows = Vec::new();
        let mut cursor = (0, 0);
        for (li, line) in self.lines.iter().enumerate() {
            let s: String = line.iter().collect();
            let wrapped = wrap_line(&s, cols);
            let n = wrapped.len();
            for (ri, r) in wrapped.into_iter().enumerate() {
                if li == self.row {
                    let last = ri + 1 == n;
                    let inside = self.col >= r.start && (self.col < r.start + r.chars || last);
                    if inside {
                        let x: usize = line[r.start..self.col].iter().map(|c| char_width(*c)).sum();
                        cursor = if x >= cols.max(2) {
                            (rows.len() + 1, 0)
                        } else {
                            (rows.len(), x)
                        };
                    }
                }
                rows.push(r.text);
            }
        }
        if cursor.0 >= rows.len() {
            rows.push(String::new());
        }
        Layout { rows, cursor }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_editing_is_per_character() {
        let mut e = Editor::new(false);
        e.insert_str("关于减税");
        assert_eq!(e.cursor(), (0, 4));
        e.left();
        e.backspace();
        assert_eq!(e.text(), "关于税");
        e.insert('降');
        assert_eq!(e.text(), "关于降税");
        e.end();
        e.insert_str("🎉ok");
        e.home();
        e.delete();
        assert_eq!(e.text(), "于降税🎉ok");
    }

    #[test]
    fn lines_join_and_split() {
        let mut e = Editor::new(false);
        e.insert_str("第一行\n第二行");
        assert_eq!(e.cursor(), (1, 3));
        e.home();
        e.backspace();
        assert_eq!(e.text(), "第一行第二行");
        e.newline();
        assert_eq!(e.text(), "第一行\n第二行");
        e.up();
        assert_eq!(e.cursor(), (0, 0));
        e.end();
        e.delete();
        assert_eq!(e.text(), "第一行第二行");
        let mut s = Editor::new(true);
        s.insert_str("a\nb");
        assert_eq!(s.text(), "a b");
    }

    #[test]
    fn up_down_keep_the_display_column_across_widths() {
        let mut e = Editor::new(false);
        e.insert_str("abcdef\n中文字");
        e.up(); // from after 字 (column 6) to column 6 of "abcdef"
        assert_eq!(e.cursor(), (0, 6));
        e.left();
        e.left();
        e.left(); // column 3: in the middle of 文 (columns 2-3) below
        e.down();
        assert_eq!(e.cursor(), (1, 1));
    }

    #[test]
    fn layout_wraps_and_places_the_cursor_in_cells() {
        let mut e = Editor::new(false);
        e.insert_str("关于减税降费的通知");
        let l = e.layout(6);
        assert_eq!(l.rows, ["关于减", "税降费", "的通知", ""]);
        assert_eq!(
            l.cursor,
            (3, 0),
            "after a full last row the cursor starts the next one"
        );
        e.left();
        e.left();
        e.left();
        e.left();
        let l = e.layout(6);
        assert_eq!(l.cursor, (1, 4), "before 费: row 1, after two wide chars");
        let mut e = Editor::new(false);
        e.insert_str("ab");
        assert_eq!(e.layout(10).cursor, (0, 2));
    }
}
