// Sign in, sign out, and changing one's own password.

import * as api from '../api.js';
import { h, replace, field, errorBox, setError, showErrors, clearErrors } from '../dom.js';
import { navigate } from '../router.js';
import * as session from '../session.js';

let notice = null; // why the last session ended, shown once on the sign-in page

export function setNotice(message) {
  notice = message;
}

function safeNext(query) {
  const next = query.get('next') || '';
  if (!next.startsWith('/') || next.startsWith('//') || next.startsWith('/login') || next.startsWith('/logout')) return '';
  return next;
}

export function login(ctx) {
  const next = safeNext(ctx.query);
  if (api.hasSession()) {
    navigate(next || '/', { replace: true });
    return;
  }
  const message = notice;
  notice = null;
  const username = field({ label: 'Username', name: 'username', autocomplete: 'username', required: true, testid: 'login-username', autocapitalize: 'none', spellcheck: 'false' });
  const password = field({ label: 'Password', name: 'password', type: 'password', autocomplete: 'current-password', required: true, testid: 'login-password' });
  const errors = errorBox('login-error');
  const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'login-submit' }, 'Sign in');
  const form = h('form', { class: 'card narrow', 'data-testid': 'login-form' }, username, password, errors, submit);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    submit.disabled = true;
    submit.textContent = 'Signing in…';
    try {
      await api.login(username.control.value.trim(), password.control.value);
      await session.loadMe();
      session.startAlerts();
      navigate(next || session.homePath(), { replace: true });
    } catch (err) {
      signInError(form, errors, err);
      password.control.value = '';
      password.control.focus();
    } finally {
      submit.disabled = false;
      submit.textContent = 'Sign in';
    }
  });

  replace(ctx.main, h('section', { class: 'auth' },
    h('h1', { tabindex: '-1' }, 'Sign in to tasktrack'),
    message ? h('p', { class: 'notice', role: 'status', 'data-testid': 'session-message' }, message) : null,
    form));
  username.control.focus();
}

// PAUSED tells the owner of a deactivated account, who gave the right
// password, what happened and what to do.
const PAUSED = 'Your account is paused: it was deactivated, by a manager or because too many deadlines were missed. Your password is right. Ask a manager to reactivate it, then sign in again.';

// signInError says why a sign-in failed.
function signInError(form, errors, err) {
  const paused = err.status === 401 && err.body && err.body.code === 'account_inactive';
  errors.toggleAttribute('data-code', paused);
  if (paused) {
    setError(errors, PAUSED);
    errors.dataset.code = 'account_inactive';
  } else if (err.status === 401) {
    const detail = err.body && typeof err.body.detail === 'string' ? err.body.detail.replace(/\.?$/, '.') : 'Sign-in failed.';
    setError(errors, `${detail} Check your username and password.`);
  } else if (err.status === 429) {
    setError(errors, `Too many failed sign-in attempts. ${api.retryText(err.headers)}`);
  } else {
    showErrors(form, err, errors);
  }
}

// reauthenticate asks the signed-in person for their password again in a
// dialog over the page, so that nothing they typed is lost when their
// session ends; it answers true once they are signed in again, false when
// they choose to sign out instead.
export function reauthenticate(message) {
  const me = session.currentUser();
  if (!me) return Promise.resolve(false);
  return new Promise((resolve) => {
    const username = field({ label: 'Username', name: 'username', autocomplete: 'username', value: me.username, readOnly: true, testid: 'reauth-username' });
    const password = field({ label: 'Password', name: 'password', type: 'password', autocomplete: 'current-password', required: true, testid: 'reauth-password' });
    const errors = errorBox('reauth-error');
    const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'reauth-submit' }, 'Sign in and carry on');
    const leave = h('button', { type: 'button', 'data-testid': 'reauth-leave' }, 'Sign out');
    const form = h('form', { method: 'dialog', 'data-testid': 'reauth-form' }, username, password, errors, h('div', { class: 'actions' }, leave, submit));
    const dlg = h('dialog', { class: 'confirm', 'data-testid': 'reauth-dialog', 'aria-labelledby': 'reauth-title', 'aria-describedby': 'reauth-message' },
      h('h2', { id: 'reauth-title' }, 'Sign in again'),
      h('p', { id: 'reauth-message' }, message, ' ', h('strong', {}, 'Nothing on this page is lost:'), ' what you were doing carries on once you are signed in.'),
      form);
    let settled = false;
    const done = (ok) => {
      if (settled) return;
      settled = true;
      dlg.close();
      dlg.remove();
      resolve(ok);
    };
    // The browser may close the dialog itself (a second Escape): that is
    // declining.
    dlg.addEventListener('close', () => done(false));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors(form);
      submit.disabled = true;
      try {
        await api.login(me.username, password.control.value);
        done(true);
      } catch (err) {
        signInError(form, errors, err);
        password.control.value = '';
        password.control.focus();
      } finally {
        submit.disabled = false;
      }
    });
    leave.addEventListener('click', () => done(false));
    dlg.addEventListener('cancel', (e) => e.preventDefault()); // Escape would lose the page's work
    document.body.appendChild(dlg);
    dlg.showModal();
    password.control.focus();
  });
}

export async function logout(ctx) {
  replace(ctx.main, h('p', { role: 'status' }, 'Signing out…'));
  await api.logout();
  session.forgetMe();
  notice = null;
  replace(ctx.main, h('section', { class: 'auth', 'data-testid': 'signed-out' },
    h('h1', { tabindex: '-1' }, 'You have signed out'),
    h('p', {}, h('a', { href: '/login', 'data-testid': 'sign-in-again' }, 'Sign in again'))));
}

export function password(ctx) {
  const me = session.currentUser();
  const oldPw = field({ label: 'Current password', name: 'old_password', type: 'password', autocomplete: 'current-password', required: true, testid: 'old-password' });
  const newPw = field({ label: 'New password', name: 'new_password', type: 'password', autocomplete: 'new-password', required: true, minlength: 8, testid: 'new-password', hint: 'At least 8 characters, not all digits, not your username.' });
  const again = field({ label: 'New password again', name: 'new_password_again', type: 'password', autocomplete: 'new-password', required: true, testid: 'new-password-again' });
  const errors = errorBox();
  const done = h('p', { class: 'success', role: 'status', 'data-testid': 'password-success', hidden: true });
  const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'password-submit' }, 'Change password');
  const form = h('form', { class: 'card narrow', 'data-testid': 'password-form' }, oldPw, newPw, again, errors, submit);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    done.hidden = true;
    if (newPw.control.value !== again.control.value) {
      showErrors(form, { status: 400, body: { new_password_again: ['The two new passwords differ.'] } });
      return;
    }
    submit.disabled = true;
    try {
      await api.post('/api/user/me/password/', { old_password: oldPw.control.value, new_password: newPw.control.value });
    } catch (err) {
      submit.disabled = false;
      if (err.status !== 401) showErrors(form, err, errors);
      return;
    }
    // A password change ends every session of the account, this one too:
    // sign in again with the new password so the person can carry on.
    try {
      await api.login(me.username, newPw.control.value);
      await session.loadMe();
    } catch {
      session.forgetMe();
      await api.logout();
      setNotice('Your password has been changed. Sign in with your new password.');
      navigate('/login', { replace: true });
      return;
    }
    form.reset();
    submit.disabled = false;
    done.textContent = 'Your password has been changed. Other devices signed in to your account have been signed out.';
    done.hidden = false;
  });

  replace(ctx.main, h('section', {},
    h('h1', { tabindex: '-1' }, 'Change password'),
    h('p', {}, `Signed in as ${me.username}.`),
    done, form));
}
