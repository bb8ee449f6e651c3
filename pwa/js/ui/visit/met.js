/* Who did you meet? Asked first (R5): a third party gets location questions only. */
import { button, h } from '../dom.js';
import { put } from './parts.js';

export function render(el, s) {
  const { t } = s;
  const choose = (value) => (e) => s.guarded(e.currentTarget, () => s.saveOnly({ met: value }));
  put(el, h('section', { class: 'card' },
    h('h2', { text: t('met.title') }), h('p', { class: 'muted', text: t('met.help') }),
    h('div', { class: 'choices' },
      button([h('strong', { text: t('met.debtor') }), h('span', { text: t('met.debtor_hint') })], choose('debtor'), 'choice'),
      button([h('strong', { text: t('met.third_party') }), h('span', { text: t('met.third_party_hint') })], choose('third_party'), 'choice'),
      button([h('strong', { text: t('met.nobody') }), h('span', { text: t('met.nobody_hint') })], choose('nobody'), 'choice'))));
}
