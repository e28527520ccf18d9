//! Keeping a list's selection inside its window, and a short list held
//! whole with its selection.

/// A list held whole (the directory, the outbox) and which entry is selected.
#[derive(Clone, Debug)]
pub struct Selection<T> {
    pub items: Vec<T>,
    pub selected: usize,
}

impl<T> Default for Selection<T> {
    fn default() -> Self {
        Selection {
            items: Vec::new(),
            selected: 0,
        }
    }
}

impl<T> Selection<T> {
    /// New contents; the selection stays where it was, within the list.
    pub fn loaded(&mut self, items: Vec<T>) {
        self.selected = self.selected.min(items.len().saturating_sub(1));
        self.items = items;
    }

    pub fn current(&self) -> Option<&T> {
        self.items.get(self.selected)
    }
}

/// Move `scroll` (the first visible row) so that `selected` is visible in a
/// window `height` rows tall.
pub fn keep_visible(selected: usize, scroll: &mut usize, height: usize) {
    let height = height.max(1);
    if selected < *scroll {
        *scroll = selected;
    } else if selected >= *scroll + height {
        *scroll = selected + 1 - height;
    }
}

#[cfg(test)]
mod tests {
    use super::keep_visible;

    #[test]
    fn the_selection_stays_in_the_window() {
        let mut scroll = 0;
        keep_visible(12, &mut scroll, 10);
        assert_eq!(scroll, 3);
        keep_visible(2, &mut scroll, 10);
        assert_eq!(scroll, 2);
        keep_visible(5, &mut scroll, 10);
        assert_eq!(scroll, 2);
        keep_visible(7, &mut scroll, 0);
        assert_eq!(scroll, 7);
    }
}
