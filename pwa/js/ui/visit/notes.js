/* Notes: the rule set's prohibited phrases (R7) warn before saving; each note is its own op. */
import * as ops from '../../ops.js';
import { button, field, h } from '../dom.js';
import { put } from './parts.js';

/* R7: the rule set's phrase lists (every category, both languages), else the catalog's short
 * list; returns the check that writes the warning for what is typed in `text`. */
function noteWarning(s, text, warn) {
  const { t } = s;
  const lists = Object.values(s.rules().prohibited_phrases || {}).flatMap((byLocale) => Object.values(byLocale || {}).flat());
  const words = (lists.length ? lists : t('notes.flag_words').split('|')).map((w) => String(w).trim().toLowerCase()).filter(Boolean);
  return () => {
    const hit = words.find((w) => text.value.toLowerCase().includes(w));
    warn.textContent = hit ? t('notes.flagged', { word: hit }) : '';
  };
}

/* The note form both phones of a visit use: the draft's text kept as it is typed, the R7 warning,
 * the notes saved so far, and the save that queues one op a note (an empty note says why). */
export function noteForm(s, rows, saveClass) {
  const { t, i18n, visit, draft } = s;
  const text = h('textarea', { rows, value: draft.note_text || '', 'aria-describedby': 'note-warn' });
  const warn = h('p', { class: 'warn-text', id: 'note-warn', role: 'status' });
  const check = noteWarning(s, text, warn);
  text.addEventListener('input', () => { s.keep('note', { note_text: text.value }); check(); });
  check();
  const saveNote = async () => {
    const value = text.value.trim();
    if (!value) { warn.textContent = t('notes.empty'); text.focus(); return; }
    await s.commit([ops.note(visit, value)],
      { notes: (draft.notes || []).concat([{ text: value, at: new Date().toISOString() }]), note_text: '' });
  };
  const notes = draft.notes || [];
  const nodes = [
    notes.length ? h('ul', { class: 'saved-notes' }, notes.map((n) => h('li', {}, h('span', { class: 'muted', text: i18n.dateTime(n.at) }), h('p', { text: n.text })))) : null,
    field(t('notes.label'), text, t('notes.hint')), warn,
    button(t('notes.save'), (e) => s.guarded(e.currentTarget, saveNote), saveClass),
  ];
  return { nodes, text, saveNote };
}

export function render(el, s) {
  const { t } = s;
  const { nodes, text, saveNote } = noteForm(s, 4, 'btn secondary block');
  put(el, h('section', { class: 'card' },
    h('h2', { text: t('notes.title') }),
    nodes,
    button(t('notes.continue'), (e) => s.guarded(e.currentTarget, async () => {
      if (text.value.trim()) await saveNote();
      await s.saveOnly({ notes_done: true });
    }), 'btn primary block big')));
}
