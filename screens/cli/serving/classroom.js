(function () {
  'use strict';
  const tbody = document.getElementById('trainees');
  const status = document.getElementById('status');
  const labOptions = document.getElementById('lab-options');

  function say(text, bad) {
    status.textContent = text;
    status.className = bad ? 'error' : 'muted';
  }

  function describe(row) {
    const online = row.online || 0;
    let checks = row.checks_total ? row.checks_passed + ' of ' + row.checks_total : '–';
    if (row.lab_passed) { checks += ' ✓ done'; }
    let controls;
    if (row.controls_total !== null && row.controls_total !== undefined) {
      controls = row.controls_passed + ' of ' + row.controls_total + ' pass';
      if (row.controls_failing && row.controls_failing.length) {
        controls += ' (failing: ' + row.controls_failing.join(', ') + ')';
      }
    } else {
      controls = row.trail_arn ? 'checking…' : 'no trail applied yet';
    }
    return {
      name: row.name || '',
      online: online > 1 ? 'open (' + online + ')' : (online ? 'open' : 'closed'),
      step: row.step_title || 'not started',
      checks: checks,
      hints: String(row.hints_used || 0),
      controls: controls,
    };
  }

  function cell(tr, text) {
    const td = document.createElement('td');
    td.textContent = text;
    tr.appendChild(td);
    return td;
  }

  function draw(rows) {
    const focused = document.activeElement;
    if (focused && focused.closest && focused.closest('#trainees')) {
      return;  // the trainer is choosing a lab: redraw after
    }
    const fresh = document.createDocumentFragment();
    if (!rows.length) {
      const tr = document.createElement('tr');
      tr.className = 'empty';
      const td = cell(tr, 'No trainee has joined yet.');
      td.colSpan = 8;
      td.className = 'muted';
      fresh.appendChild(tr);
    }
    for (const row of rows) {
      const text = describe(row);
      const tr = document.createElement('tr');
      tr.dataset.id = row.id;
      cell(tr, text.name);
      cell(tr, text.online);
      const labCell = document.createElement('td');
      const select = document.createElement('select');
      select.className = 'lab';
      select.setAttribute('aria-label', 'Lab of ' + text.name);
      select.appendChild(labOptions.content.cloneNode(true));
      select.value = row.lab || '';
      labCell.appendChild(select);
      tr.appendChild(labCell);
      cell(tr, text.step);
      cell(tr, text.checks);
      cell(tr, text.hints);
      cell(tr, text.controls);
      const actions = document.createElement('td');
      const reset = document.createElement('button');
      reset.type = 'button';
      reset.className = 'reset';
      reset.textContent = 'Reset';
      actions.appendChild(reset);
      tr.appendChild(actions);
      fresh.appendChild(tr);
    }
    tbody.replaceChildren(fresh);
  }

  function drawBroadcasts(list) {
    const ul = document.getElementById('broadcasts');
    const items = document.createDocumentFragment();
    for (const message of list.slice().reverse()) {
      const li = document.createElement('li');
      const when = document.createElement('span');
      when.className = 'muted';
      when.textContent = message.time + ' ';
      li.appendChild(when);
      li.appendChild(document.createTextNode(message.text));
      items.appendChild(li);
    }
    ul.replaceChildren(items);
  }

  async function poll() {
    try {
      const response = await fetch('state.json', {cache: 'no-store'});
      if (!response.ok) {
        say('The server refused the update (' + response.status + '): reload this page '
            + 'from the address serve printed.', true);
        return;
      }
      const state = await response.json();
      draw(state.trainees);
      drawBroadcasts(state.broadcasts);
      if (status.className !== 'ok') { say(''); }
    } catch (err) {
      say('The server does not answer; it may have stopped. This page tries again.', true);
    }
  }

  async function send(action, body, done) {
    try {
      const response = await fetch(action, {
        method: 'POST',
        headers: {'Content-Type': 'application/json'},
        body: JSON.stringify(body),
      });
      const answer = await response.json().catch(() => ({}));
      if (!response.ok) {
        say(answer.error || ('Refused (' + response.status + ').'), true);
        return;
      }
      status.className = 'ok';
      status.textContent = answer.message || 'Done.';
      if (done) { done(); }
      poll();
    } catch (err) {
      say('The server does not answer; it may have stopped.', true);
    }
  }

  tbody.addEventListener('click', (event) => {
    const button = event.target.closest('button.reset');
    if (!button) { return; }
    const tr = button.closest('tr');
    const name = tr.cells[0].textContent;
    if (window.confirm('Reset the sandbox of ' + name + '? Everything they made in it is '
                       + 'lost; their wizard restarts.')) {
      say('Resetting the sandbox of ' + name + '…');
      send('reset', {trainee: tr.dataset.id});
    }
  });
  tbody.addEventListener('change', (event) => {
    const select = event.target.closest('select.lab');
    if (!select) { return; }
    const tr = select.closest('tr');
    say('Starting the lab for ' + tr.cells[0].textContent + '…');
    select.blur();
    send('lab', {trainee: tr.dataset.id, lab: select.value || null});
  });
  document.getElementById('class-lab').addEventListener('submit', (event) => {
    event.preventDefault();
    const lab = document.getElementById('class-lab-choice').value || null;
    say('Starting the lab for everyone…');
    send('lab', {trainee: null, lab: lab});
  });
  document.getElementById('broadcast').addEventListener('submit', (event) => {
    event.preventDefault();
    const box = document.getElementById('broadcast-text');
    send('broadcast', {text: box.value}, () => { box.value = ''; });
  });
  setInterval(poll, __POLL__);
  poll();
})();
