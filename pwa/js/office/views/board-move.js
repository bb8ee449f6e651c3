/* Moving a stop without dragging, for touch and keyboard: a modal dialog asks for the agent
 * (or none: unassigned) and the position among that agent's stops, then the board sends the
 * same move as a drop. Focus starts on the agent choice and returns to the button after. */
import { h } from '../util.js';

export function openMoveDialog({ t, stop, routes, opener, onMove }) {
  const agent = h('select', { class: 'o-input', id: 'move-agent' },
    routes.map((r) => h('option', { value: String(r.agent.id), text: r.agent.name })),
    h('option', { value: '', text: t('board.move_none') }));
  const position = h('select', { class: 'o-input', id: 'move-position' });
  const here = routes.find((r) => r.stops.some((s) => s.key === stop.key));
  agent.value = here ? String(here.agent.id) : (routes[0] ? String(routes[0].agent.id) : '');

  function positions() {
    const route = routes.find((r) => String(r.agent.id) === agent.value);
    position.disabled = !route;
    if (!route) { position.replaceChildren(); return; }
    const others = route.stops.filter((s) => s.key !== stop.key);
    position.replaceChildren(...others.map((s, i) => h('option', { value: String(i + 1), text: t('board.move_before', { n: i + 1, name: s.name || `#${s.case_id}` }) })),
      h('option', { value: String(others.length + 1), text: t('board.move_last', { n: others.length + 1 }) }));
    const current = route.stops.findIndex((s) => s.key === stop.key);
    position.value = String(current >= 0 ? current + 1 : others.length + 1);
  }
  agent.addEventListener('change', positions);
  positions();

  const title = h('h2', { id: 'move-title', text: t('board.move_title', { name: stop.name || `#${stop.case_id}` }) });
  const form = h('form', { method: 'dialog', class: 'o-move-form' },
    title,
    h('div', { class: 'o-field' }, h('label', { for: agent.id, text: t('board.move_agent') }), agent),
    h('div', { class: 'o-field' }, h('label', { for: position.id, text: t('board.move_position') }), position),
    h('div', { class: 'o-row' },
      h('button', { type: 'submit', class: 'o-btn', value: 'move', text: t('board.move_do') }),
      h('button', { type: 'button', class: 'o-btn ghost', value: 'cancel', text: t('board.move_cancel'), onclick: () => dialog.close() })));
  const dialog = h('dialog', { class: 'o-dialog', 'aria-labelledby': title.id }, form);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const target = agent.value ? { agent_id: Number(agent.value), position: Number(position.value) } : { agent_id: null };
    dialog.close();
    onMove(target);
  });
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (opener && opener.isConnected) opener.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
  agent.focus();
}
