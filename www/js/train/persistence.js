// Keeping work: a trained model can be kept in this browser's IndexedDB (localStorage holds
// only ~5 MB of text, less than the chapter model's 4 MB of weights as base64) and is
// restored after a reload; leaving the page with a trained model that is neither downloaded
// nor kept asks first (beforeunload).

const DB = 'convscope';
const STORE = 'models';
const KEY = 'kept';

function openDb() {
  return new Promise((ok, fail) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => ok(request.result);
    request.onerror = () => fail(request.error || new Error('the browser storage could not be opened'));
  });
}

async function transact(mode, fn) {
  const db = await openDb();
  try {
    return await new Promise((ok, fail) => {
      const tx = db.transaction(STORE, mode);
      const request = fn(tx.objectStore(STORE));
      tx.oncomplete = () => ok(request.result);
      tx.onerror = () => fail(tx.error || new Error('the browser storage refused the request'));
      tx.onabort = () => fail(tx.error || new Error('the browser storage refused the request (is it full?)'));
    });
  } finally {
    db.close();
  }
}

// {bytes: ArrayBuffer, savedAt: ms, description} or undefined.
export const readKept = () => transact('readonly', (s) => s.get(KEY));
export const keep = (record) => transact('readwrite', (s) => s.put(record, KEY));
export const forget = () => transact('readwrite', (s) => s.delete(KEY));

// Other files the page keeps under their own key (the ImageNet model, which from file://
// can only come from the student's disk, is asked for once).
export const readStored = (key) => transact('readonly', (s) => s.get(key));
export const store = (key, record) => transact('readwrite', (s) => s.put(record, key));

// Asks before the page is left while `unsaved()` says there is work to lose.
export function guardUnload(unsaved) {
  window.addEventListener('beforeunload', (e) => {
    if (!unsaved()) return;
    e.preventDefault();
    e.returnValue = '';
  });
}
