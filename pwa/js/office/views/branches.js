/* Admin: each branch's route-planner settings (docs/routing.md) — the travel model (circuity,
 * speed), balanced work between agents, the price of an hour's driving and the at-home model —
 * as one form per branch, saved with PATCH /api/branches/<id>. The server checks every setting
 * on its own and answers per field; its message shows under the setting it names. The next
 * route plan of the branch uses what was saved. */
import { fieldErrors } from '../../i18n.js';
import { h, clear, describeError, empty } from '../util.js';

const BALANCE = ['', 'stops', 'duration'];
// the number inputs: their step, and the range the server accepts (shown as the browser's hint)
const NUMBERS = {
  circuity: { step: '0.05', min: '1', max: '3' },
  speed_kmh: { step: '1', min: '5', max: '120' },
  balance_max_loss: { step: '0.005', min: '0', max: '0.2' },
  travel_cost: { step: '1', min: '0', max: '10000' },
};
const ORDER = ['balance_by', 'balance_max_loss', 'travel_cost', 'at_home_model', 'circuity', 'speed_kmh'];

export async function mount(container, ctx) {
  const { t, api } = ctx;
  const status = h('p', { class: 'o-status', role: 'status' });
  const list = h('div', { class: 'o-branches' });
  clear(container,
    h('div', { class: 'o-pagehead' }, h('h1', { text: t('branches.title') })),
    h('p', { class: 'o-hint', text: t('branches.hint') }), status, list);

  async function load() {
    status.textContent = t('status.loading');
    try {
      const branches = await api.get('/api/branches');
      status.textContent = '';
      clear(list, branches.length ? branches.map((b) => branchForm(b)) : empty(t('branches.none')));
    } catch (err) {
      status.textContent = describeError(err, t);
    }
  }

  function control(name, branch, id) {
    if (name === 'balance_by') {
      const select = h('select', { class: 'o-input', name, id },
        BALANCE.map((v) => h('option', { value: v, text: t(`branches.balance.${v || 'off'}`) })));
      select.value = branch.balance_by || '';
      return select;
    }
    if (name === 'at_home_model') return h('input', { type: 'checkbox', name, id, checked: Boolean(branch.at_home_model) });
    const value = branch[name];
    return h('input', Object.assign({ type: 'number', class: 'o-input small', name, id, value: value === null || value === undefined ? '' : String(value) }, NUMBERS[name]));
  }

  /* One branch: a labelled control per setting, what it does, and room for the server's word on it. */
  function branchForm(branch, message) {
    const controls = {};
    const errors = {};
    const settings = ORDER.map((name) => {
      const id = `branch-${branch.id}-${name}`;
      const input = control(name, branch, id);
      const help = h('p', { class: 'o-hint', id: `${id}-help`, text: t(`branches.about.${name}`) });
      const error = h('p', { class: 'o-field-error', id: `${id}-error`, dataset: { field: name } });
      input.setAttribute('aria-describedby', `${help.id} ${error.id}`);
      controls[name] = input;
      errors[name] = error;
      const label = name === 'at_home_model'
        ? h('label', { class: 'o-check', for: id }, input, h('span', { text: t(`field.${name}`) }))
        : h('label', { class: 'o-field', for: id }, h('span', { text: t(`field.${name}`) }), input);
      return h('div', { class: 'o-branch-setting' }, label, help, error);
    });
    const msg = h('span', { class: 'o-inline-msg', role: 'status', text: message || '' });
    if (message) msg.classList.add('ok');
    const save = h('button', { type: 'submit', class: 'o-btn', text: t('branches.save') });
    const form = h('form', { class: 'o-card o-form', dataset: { branchId: branch.id }, 'aria-labelledby': `branch-${branch.id}-name` },
      h('h2', { id: `branch-${branch.id}-name`, text: `${branch.name} (${branch.code})` }),
      h('div', { class: 'o-branch-grid' }, settings),
      h('div', { class: 'o-row' }, save, msg));
    // the server's per-field messages are the ones shown, not the browser's own bubbles
    form.noValidate = true;

    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      save.disabled = true;
      msg.textContent = '';
      msg.classList.remove('bad', 'ok');
      for (const [name, el] of Object.entries(errors)) {
        el.textContent = '';
        controls[name].removeAttribute('aria-invalid');
      }
      const body = { balance_by: controls.balance_by.value || null, at_home_model: controls.at_home_model.checked };
      // an empty number is null: "no travel price" for travel_cost, "required" for the others
      for (const name of Object.keys(NUMBERS)) body[name] = controls[name].value.trim() === '' ? null : Number(controls[name].value);
      try {
        const saved = await api.patch(`/api/branches/${branch.id}`, body);
        const text = t('branches.saved', { name: saved.name });
        form.replaceWith(branchForm(saved, text));
        ctx.announce(text);
      } catch (err) {
        const fields = Object.keys(err.errors || {}).filter((name) => errors[name]);
        for (const name of fields) {
          errors[name].textContent = fieldErrors(t, { [name]: err.errors[name] }, { [name]: ((err.body || {}).field_codes || {})[name] }).join(' ');
          controls[name].setAttribute('aria-invalid', 'true');
        }
        msg.textContent = fields.length ? t('branches.fix_fields') : describeError(err, t);
        msg.classList.add('bad');
        ctx.announce(msg.textContent);
        if (fields.length) controls[fields[0]].focus();
        save.disabled = false;
      }
    });
    return form;
  }

  await load();
  return null;
}
