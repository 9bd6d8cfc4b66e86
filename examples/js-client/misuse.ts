// Code the declarations must refuse: test/package.test.mjs (clients/js) expects tsc to report an error on each line
// marked MISUSE and on no other. Declarations that accepted these would be `any` in disguise.
import { Client } from 'herald-js';

new Client({ dialogId: 1, auth: { assistantId: 'one', guestId: 'g' } }); // MISUSE: an assistant id is a number
new Client({ dialogId: 1, admin: true, auth: { token: 't' } }); // MISUSE: a dialog and the operators' feed at once
new Client({ dialogId: 1, transport: 'carrier-pigeon', auth: { token: 't' } }); // MISUSE: no such transport
new Client({ dialogId: 1, auth: { token: 't' } }).on('message:new', (e) => e.data.message.body); // MISUSE: a message has no body
