// @ts-check
// The page's two autocomplete boxes (search, query) as WAI-ARIA comboboxes: a listbox popup
// whose active option is shown with aria-activedescendant (the focus stays in the input).
import { AuthRequired, messageOf } from './api.js';
import { append, h } from './dom.js';

const SEARCH_DEBOUNCE_MS = 120;

/**
 * An option of the listbox: `render` fills its <li>; `pick` opens it (undefined: a message
 * such as "No match", which cannot be picked). `exact`: a cluster named exactly (search box).
 * @typedef {{ id: string, render: (li: HTMLLIElement) => void, pick: (() => void) | undefined, exact?: boolean }} ComboOption
 */

/** @typedef {(text: string, input: HTMLInputElement) => Promise<ComboOption[]>} OptionLoader */

/**
 * Wires `input` (role=combobox) to `listbox`. `load(text, input)` returns options; typing
 * reloads them after a debounce (a slower, older answer never replaces a newer one).
 * ArrowDown/ArrowUp move, Enter picks, Escape closes (and clears when already closed); a click
 * picks too. Enter with no active option is left to the form.
 */
export class Combobox {
  /**
   * @param {HTMLInputElement} input
   * @param {HTMLElement} listbox
   * @param {OptionLoader} load
   */
  constructor(input, listbox, load) {
    this.input = input;
    this.listbox = listbox;
    this.load = load;
    /** @type {ComboOption[]} */
    this.options = [];
    this.active = -1;
    this.seq = 0;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
    input.addEventListener('input', () => this.schedule());
    input.addEventListener('keydown', (e) => this.onKey(e));
    input.addEventListener('blur', () => setTimeout(() => this.close(), 0));
    // Keep the focus in the input while clicking an option.
    listbox.addEventListener('mousedown', (e) => e.preventDefault());
  }

  schedule(delay = SEARCH_DEBOUNCE_MS) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.refresh(), delay);
  }

  async refresh() {
    const seq = ++this.seq;
    /** @type {ComboOption[]} */
    let options;
    try {
      options = await this.load(this.input.value, this.input);
    } catch (err) {
      if (err instanceof AuthRequired) return;
      options = [{ id: 'error', render: (li) => append(li, h('span', { class: 'error' }, messageOf(err))), pick: undefined }];
    }
    if (seq !== this.seq) return; // a newer keystroke's answer is coming
    this.show(options);
  }

  /** @param {ComboOption[]} options */
  show(options) {
    this.options = options;
    this.active = -1;
    this.listbox.replaceChildren();
    options.forEach((o, i) => {
      const li = h('li', { role: 'option', id: `${this.listbox.id}-${i}`, 'aria-selected': 'false' });
      o.render(li);
      if (o.pick) li.addEventListener('click', () => this.pick(i));
      else li.classList.add('empty');
      this.listbox.append(li);
    });
    const open = options.length > 0 && document.activeElement === this.input;
    this.listbox.hidden = !open;
    this.input.setAttribute('aria-expanded', String(open));
    this.input.removeAttribute('aria-activedescendant');
  }

  close() {
    this.seq++;
    clearTimeout(this.timer);
    this.listbox.hidden = true;
    this.input.setAttribute('aria-expanded', 'false');
    this.input.removeAttribute('aria-activedescendant');
    this.active = -1;
  }

  get isOpen() {
    return !this.listbox.hidden;
  }

  /** @param {number} delta */
  move(delta) {
    const n = this.options.length;
    if (n === 0) return;
    const prev = this.listbox.children[this.active];
    prev?.setAttribute('aria-selected', 'false');
    this.active = this.active < 0 ? (delta > 0 ? 0 : n - 1) : (this.active + delta + n) % n;
    const li = this.listbox.children[this.active];
    if (!li) return;
    li.setAttribute('aria-selected', 'true');
    li.scrollIntoView({ block: 'nearest' });
    this.input.setAttribute('aria-activedescendant', li.id);
  }

  /** @param {number} i */
  pick(i) {
    const o = this.options[i];
    if (!o?.pick) return;
    this.close();
    o.pick();
  }

  /** @param {KeyboardEvent} e */
  onKey(e) {
    switch (e.key) {
      case 'ArrowDown':
        e.preventDefault();
        if (!this.isOpen) void this.refresh();
        else this.move(1);
        return;
      case 'ArrowUp':
        e.preventDefault();
        if (this.isOpen) this.move(-1);
        return;
      case 'Enter':
        if (this.isOpen && this.active >= 0) {
          e.preventDefault();
          this.pick(this.active);
        } else {
          this.close();
        }
        return;
      case 'Escape':
        if (this.isOpen) this.close();
        else this.input.value = '';
        e.preventDefault();
        return;
      case 'Tab':
        this.close();
        return;
    }
  }
}
