/* R16: escalation, one tap at any time after check-in; a dialog over the current step. */
import * as ops from '../../ops.js';
import { button, field, h } from '../dom.js';

export function openEscalate(s) {
  const { t, store, sync, visit, draft } = s;
  const kind = h('select', {}, ['complaint', 'dispute', 'legal', 'other'].map((k) => h('option', { value: k, text: t(`escalate.kind.${k}`) })));
  const reason = h('textarea', { rows: 3, required: true });
  const error = h('p', { class: 'error', role: 'alert' });
  const dialog = h('dialog', { class: 'sheet', 'aria-label': t('escalate.title') },
    h('h2', { text: t('escalate.title') }), h('p', { class: 'muted', text: t('escalate.help') }),
    field(t('escalate.kind'), kind), field(t('escalate.reason'), reason), error,
    h('div', { class: 'actions' },
      button(t('common.cancel'), () => dialog.close(), 'btn secondary'),
      button(t('escalate.send'), (e) => s.guarded(e.currentTarget, async () => {
        if (!reason.value.trim()) { error.textContent = t('common.required'); return; }
        await store.recordStep(s.visitId, [ops.escalate(visit, kind.value, reason.value.trim())],
          { escalations: (draft.escalations || []).concat([{ kind: kind.value, at: new Date().toISOString() }]) }, { case_id: visit.case_id });
        sync.kick();
        dialog.close();
        s.toast(t('escalate.saved'));
      }), 'btn primary')));
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}
