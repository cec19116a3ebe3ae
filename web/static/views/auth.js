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
      if (err.status === 401) {
        const detail = err.body && typeof err.body.detail === 'string' ? err.body.detail.replace(/\.?$/, '.') : 'Sign-in failed.';
        setError(errors, `${detail} Check your username and password. If they are right, your account may have been deactivated: ask a manager to reactivate it.`);
      } else if (err.status === 429) {
        setError(errors, `Too many failed sign-in attempts. ${api.retryText(err.headers)}`);
      } else {
        showErrors(form, err, errors);
      }
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
