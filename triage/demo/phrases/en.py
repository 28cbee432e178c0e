"""English phrase book.

Over 400 lines on purpose: this is a data table (every sentence the demo's customers and
agents write in one language, one per line), not logic; a language's phrases stay in one
file so that a translator reads and edits them side by side.
"""

from __future__ import annotations

from triage.demo.phrases import PhraseBook

_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip

SUBJECTS: dict[str, tuple[str, ...]] = {
    "double_charge": (
        "Charged twice for my subscription",
        "Duplicate payment on my card",
        "Why was I billed two times?",
    ),
    "invoice": (
        "Invoice request for {date}",
        "Need a copy of invoice {invoice}",
        "Please send me a VAT invoice",
    ),
    "payment_failed": (
        "Payment keeps failing",
        "Card declined when I try to pay",
        "Can't complete the payment",
    ),
    "subscription": (
        "Change my plan to {plan}",
        "Downgrade subscription",
        "How do I cancel my subscription?",
    ),
    "password_reset": (
        "Can't reset my password",
        "Password reset link not working",
        "Forgot password, no reset email",
    ),
    "two_factor": (
        "Lost my phone, can't get 2FA code",
        "Two-factor code not accepted",
        "Problem with authenticator app",
    ),
    "account_locked": (
        "My account is locked",
        "Account blocked after failed logins",
        "Locked out of my account",
    ),
    "app_crash": (
        "{product} crashes on startup",
        "App keeps crashing",
        "{product} closes itself after the update",
    ),
    "sync_error": ("Sync error {error}", "Files are not syncing", "{product} stuck on syncing"),
    "performance": (
        "{product} is extremely slow",
        "Very slow loading times",
        "Performance problems since {date}",
    ),
    "integration": (
        "{integration} integration stopped working",
        "API returns {error}",
        "Webhook to {integration} failing",
    ),
    "delayed": (
        "Where is my order {order}?",
        "Delivery is late",
        "Order {order} still not delivered",
    ),
    "lost_package": (
        "Package lost",
        "Tracking says delivered but nothing arrived",
        "My parcel disappeared",
    ),
    "address_change": (
        "Change delivery address for {order}",
        "Wrong shipping address",
        "Need to update my address",
    ),
    "return_request": (
        "I want to return my {product}",
        "Return request for order {order}",
        "How do I send this back?",
    ),
    "refund_status": ("Where is my refund?", "Refund not received for {order}", "Refund status"),
    "exchange": (
        "Exchange {product} for another size/colour",
        "Exchange request",
        "Can I swap my {product}?",
    ),
    "pricing": (
        "Question about pricing",
        "Difference between plans",
        "Do you offer discounts for teams?",
    ),
    "compatibility": (
        "Does {product} work with {device}?",
        "Compatibility question",
        "Is {product} supported on {device}?",
    ),
    "how_to": ("How do I export my data?", "How to add a user", "Question about using {product}"),
    "ui_glitch": (
        "Buttons overlapping in {browser}",
        "Display bug in settings page",
        "Layout broken after update",
    ),
    "data_error": (
        "Wrong numbers in my report",
        "Data shows incorrect totals",
        "My dashboard shows wrong values",
    ),
    "notifications": (
        "Not getting notifications",
        "Too many duplicate notifications",
        "Push notifications stopped",
    ),
    "suspicious_login": (
        "Someone logged into my account",
        "Suspicious login from unknown location",
        "Unrecognised sign-in alert",
    ),
    "phishing": (
        "Phishing email pretending to be you",
        "Suspicious email asking for my password",
        "Is this email really from you?",
    ),
    "data_request": (
        "Request for a copy of my personal data",
        "Delete my account and data",
        "GDPR data request",
    ),
    "new_feature": (
        "Feature request: dark mode",
        "Suggestion for {product}",
        "Please add recurring tasks",
    ),
    "integration_request": (
        "Integration with {integration}?",
        "Please add an {integration} connector",
        "Any plans to support {integration}?",
    ),
    "no_power": ("{product} won't turn on", "Device is dead", "{product} does not power up"),
    "battery": ("Battery drains very fast", "{product} battery problem", "Battery not charging"),
    "connectivity": (
        "{product} keeps disconnecting from Wi-Fi",
        "Bluetooth pairing fails",
        "Can't connect {product} to my network",
    ),
}

PROBLEMS: dict[str, tuple[str, ...]] = {
    "double_charge": (
        "I was charged {amount} twice on {date} for the same subscription and I only have one account.",
        "My bank statement shows two identical payments of {amount} from you this month.",
        "The invoice says one payment but my card was debited two times, please check what happened.",
    ),
    "invoice": (
        "Could you send me the invoice for my payment of {amount} from {date}? Our accounting needs it.",
        "I can't find invoice {invoice} in the billing section, can you email me a PDF copy?",
        "We need the invoice issued to our company name with the VAT number included.",
    ),
    "payment_failed": (
        "Every time I try to pay {amount} the payment page says my card was declined, but the card works everywhere else.",
        "The checkout fails with error {error} after I enter my card details.",
        "My automatic renewal payment failed and now I get warnings that my account will be suspended.",
    ),
    "subscription": (
        "I would like to switch from my current plan to the {plan} plan starting next month.",
        "We have fewer people now, so please downgrade our subscription and adjust the price.",
        "I can't find where to cancel the subscription in the account settings.",
    ),
    "password_reset": (
        "I requested a password reset three times but the email never arrives, not even in spam.",
        "The reset link says it has expired as soon as I click it.",
        "I forgot my password and the reset page says no account exists for {email}.",
    ),
    "two_factor": (
        "I got a new phone and now I can't receive the two-factor authentication codes.",
        "The 2FA code from my authenticator app is always rejected as invalid.",
        "I don't get the SMS with the verification code, so I can't log in.",
    ),
    "account_locked": (
        "My account was locked after a few wrong password attempts and I can't unlock it.",
        "When I log in it says the account is suspended, I have no idea why.",
        "I'm locked out of my account and the unlock email never came.",
    ),
    "app_crash": (
        "Since version {version}, {product} crashes immediately when I open it on my {device}.",
        "The app closes without any message every time I open a project.",
        "{product} freezes and then crashes when I try to upload a file, error {error}.",
    ),
    "sync_error": (
        "My files are not syncing between my laptop and my {device}, it shows error {error}.",
        "Changes I make on one device don't appear on the other for hours.",
        "{product} has been stuck on 'syncing' since {date} and nothing updates.",
    ),
    "performance": (
        "{product} takes more than a minute to load every page, it used to be instant.",
        "Everything is very slow in {browser}, searching takes forever.",
        "The app becomes unusably slow when our project has more than a few hundred items.",
    ),
    "integration": (
        "Our {integration} integration stopped sending data on {date}, the log shows {error}.",
        "API calls to your endpoint return {error} although our token is valid.",
        "The webhook to {integration} fails every time and no records are created.",
    ),
    "delayed": (
        "I ordered on {date} and my order {order} has still not arrived.",
        "Tracking hasn't updated in days and the estimated delivery date has passed.",
        "The delivery to {city} was promised within three days, it's been much longer.",
    ),
    "lost_package": (
        "The tracking says my package was delivered on {date}, but I never received it.",
        "My parcel with order {order} seems to be lost, the courier has no information.",
        "Nothing arrived, and neither the neighbours nor the reception have the package.",
    ),
    "address_change": (
        "I entered the wrong street for order {order}, please change the delivery address.",
        "I moved to {city} last week, can you redirect the shipment to my new address?",
        "The order is going to my old address, please update it before it ships.",
    ),
    "return_request": (
        "I would like to return the {product} I bought, it doesn't meet my needs.",
        "The {product} arrived today but I changed my mind, how can I send it back?",
        "Please send me a return label for order {order}.",
    ),
    "refund_status": (
        "I returned the {product} on {date} and still haven't received my refund of {amount}.",
        "You confirmed the return but the money is not back on my card.",
        "How long does a refund take? I'm waiting for {amount} for order {order}.",
    ),
    "exchange": (
        "The {product} works but I'd like to exchange it for the other colour.",
        "Can I exchange my {product} for the newer model and pay the difference?",
        "I received the wrong variant, I want to swap it for the one I ordered.",
    ),
    "pricing": (
        "What is the difference between the Pro and the Business plan?",
        "Is there a discount if we buy licences for 20 people?",
        "Do you charge extra for additional storage on the {plan} plan?",
    ),
    "compatibility": (
        "Will {product} work with my {device}? I can't find it in the requirements.",
        "Is {product} compatible with older versions of the operating system?",
        "Before I buy, I want to know if {product} supports {device}.",
    ),
    "how_to": (
        "How do I export all my projects from {product} to a spreadsheet?",
        "I can't figure out how to invite a colleague to my workspace.",
        "Where can I change the language and time zone in {product}?",
    ),
    "ui_glitch": (
        "In {browser} the save button is hidden behind the menu, so I can't click it.",
        "After the last update the settings page shows overlapping text.",
        "The calendar view is cut off on the right side on my {device}.",
    ),
    "data_error": (
        "The monthly report shows totals that don't match the individual entries.",
        "Some of my records show yesterday's date although I created them today.",
        "The dashboard counts every item twice, so all numbers are wrong.",
    ),
    "notifications": (
        "I stopped receiving notifications on my {device} although they are enabled.",
        "I get the same notification five or six times for every comment.",
        "Email notifications arrive hours late or not at all.",
    ),
    "suspicious_login": (
        "I got an alert that someone logged into my account from another country, it wasn't me.",
        "There are logins in my account history from devices I don't own.",
        "My password was changed without my knowledge and I see unknown activity.",
    ),
    "phishing": (
        "I received an email that looks like yours asking me to confirm my password on a strange website.",
        "Someone is sending messages in your name with a link to a fake login page.",
        "I may have entered my details on a phishing site, what should I do?",
    ),
    "data_request": (
        "Under GDPR I request a copy of all personal data you store about me.",
        "Please delete my account and all data connected to {email}.",
        "I want to know which of my data you share with third parties.",
    ),
    "new_feature": (
        "It would be great if {product} had a dark mode, working at night is hard on the eyes.",
        "Could you add recurring tasks? Now we have to create them by hand every week.",
        "Please consider adding an offline mode, we often work without internet.",
    ),
    "integration_request": (
        "Do you plan to integrate with {integration}? We use it for everything.",
        "We would love a native {integration} connector instead of exporting files.",
        "An official {integration} integration would save our team hours every week.",
    ),
    "no_power": (
        "My {product} doesn't turn on anymore, no lights, nothing, even after charging overnight.",
        "The {product} died suddenly yesterday and doesn't respond to the power button.",
        "After a firmware update the {product} stays black and won't start.",
    ),
    "battery": (
        "The battery of my {product} drains from full to empty in a few hours.",
        "My {product} won't charge past 40 percent.",
        "The {product} gets hot while charging and the battery runs out quickly.",
    ),
    "connectivity": (
        "My {product} keeps dropping the Wi-Fi connection every few minutes.",
        "I can't pair the {product} with my {device} over Bluetooth.",
        "The {product} doesn't find my home network although other devices do.",
    ),
}

ANSWERS = {
    "double_charge": "I checked your payments: the second charge of {amount} was a duplicate and I have refunded it. It will appear on your statement within 5 business days.",
    "invoice": "I have attached the invoice you asked for. You can also download all invoices any time under Settings > Billing > Invoices.",
    "payment_failed": "The payment was declined by your bank's fraud check. Please confirm the payment in your banking app or try another card; your account stays active for 7 more days.",
    "subscription": "I have changed your subscription as requested. The new price applies from your next billing date and you will get a confirmation email.",
    "password_reset": "I have sent a new password reset link; it is valid for 24 hours. If it doesn't arrive, please add our address to your safe senders.",
    "two_factor": "I have reset two-factor authentication on your account. Please log in with your password and set up 2FA again on your new phone.",
    "account_locked": "Your account was locked for security reasons after failed login attempts. I have unlocked it; please reset your password before logging in.",
    "app_crash": "Thank you for the details. Our developers found the cause of the crash and a fix is coming in the next release; until then please reinstall version 4.1.",
    "sync_error": "Please sign out and sign in again on both devices and clear the local cache; that restarts the sync. I can see your data is safe on our servers.",
    "performance": "We found a slow database query affecting some accounts and have fixed it. Please clear your browser cache and let us know if it is still slow.",
    "integration": "The {integration} connection failed because its access token expired. Please reconnect the integration under Settings > Integrations.",
    "delayed": "Your order is on its way; the courier had a delay at the regional hub. The new delivery estimate is within 2 business days.",
    "lost_package": "I have opened an investigation with the courier. If the package isn't found within 5 days, we will send a replacement free of charge.",
    "address_change": "I have updated the delivery address on your order. The change was accepted by the courier before dispatch.",
    "return_request": "I have created your return and emailed you a prepaid return label. Please pack the item in its original box and drop it at any post office.",
    "refund_status": "Your refund was issued today. Depending on your bank it takes 3 to 7 business days to appear on your account.",
    "exchange": "I have arranged the exchange. Please send the item back with the enclosed label; the new one ships as soon as the return is scanned.",
    "pricing": "The Business plan adds admin controls, SSO and priority support. For teams of 10 or more we offer a 15% discount on annual billing.",
    "compatibility": "Yes, {product} supports that device with the latest operating system version. You can find the full list on our compatibility page.",
    "how_to": "You can do that under Settings > Workspace. I have added a short step-by-step guide below.",
    "ui_glitch": "Thanks for reporting this display issue. We could reproduce it and the fix will be part of the next update.",
    "data_error": "We found an error in how totals were calculated for your account and have recalculated the reports. The numbers should now be correct.",
    "notifications": "Please check that notifications are allowed in your phone settings and re-enable them in the app. We also fixed a bug that caused duplicates.",
    "suspicious_login": "I have signed out all sessions and locked the account for your safety. Please set a new password and enable two-factor authentication.",
    "phishing": "Thank you for the report. That email was not from us; please delete it. If you entered your password, change it now and enable two-factor authentication.",
    "data_request": "We have received your data request and will complete it within 30 days as required by law. You will get a confirmation by email.",
    "new_feature": "Thank you for the suggestion! I have passed it to our product team and added your vote to the feature request.",
    "integration_request": "Thanks for the idea. An {integration} integration is on our roadmap; I have added your company to the list of interested customers.",
    "no_power": "Please hold the power button for 20 seconds to force a restart. If the device still doesn't start, we will replace it under warranty.",
    "battery": "Please update the firmware and do a full charge cycle. If the battery still drains quickly, the device qualifies for a free battery replacement.",
    "connectivity": "Please restart your router and reset the network settings of the device. The latest firmware also fixes several Wi-Fi issues.",
}

ARTICLES = {
    "invoice": (
        "How do I download my invoices?",
        "All invoices are available in your account under Settings > Billing > Invoices. Click the invoice number to download a PDF. To add your company name or VAT number, edit the billing details before the next payment; past invoices can be reissued on request.",
    ),
    "payment_failed": (
        "Why was my payment declined?",
        "Payments are usually declined by the bank's fraud protection, an expired card or insufficient funds. Confirm the payment in your banking app, check the card's expiry date, or add another payment method under Settings > Billing. Your account stays active for 7 days after a failed renewal.",
    ),
    "subscription": (
        "How do I change or cancel my subscription?",
        "Go to Settings > Billing > Plan. Choose Change plan to upgrade or downgrade, or Cancel subscription to stop renewal. Changes apply from the next billing date, and you keep access until the end of the paid period.",
    ),
    "password_reset": (
        "I didn't receive the password reset email",
        "Reset links are valid for 24 hours. Check your spam folder and add our address to your safe senders. Make sure you use the email address of your account. If you request several links, only the newest one works.",
    ),
    "two_factor": (
        "How do I set up two-factor authentication on a new phone?",
        "If you still have the old phone, open Settings > Security > Two-factor and move the authenticator to the new device. If you lost the phone, use one of your backup codes to log in, or contact support to reset 2FA after verifying your identity.",
    ),
    "account_locked": (
        "My account is locked",
        "After five failed login attempts the account is locked for 30 minutes. Wait and try again, or use Forgot password to unlock it immediately. Accounts suspended for unpaid invoices are unlocked automatically after payment.",
    ),
    "sync_error": (
        "Files are not syncing",
        "Make sure all devices run the latest version. Sign out and sign in again, then clear the local cache under Settings > Advanced. Sync errors with a code starting with ERR_SYNC usually disappear after a restart of the app.",
    ),
    "performance": (
        "The app is slow, what can I do?",
        "Clear the browser cache, disable browser extensions and check that you use a supported browser. Very large projects load faster with archiving enabled under Settings > Projects. If the app is slow for everyone, check our status page.",
    ),
    "delayed": (
        "My order hasn't arrived yet",
        "Orders ship within 1 business day and delivery takes 2 to 5 business days. Use the tracking link in your shipping email to see the latest status. If tracking hasn't changed for 5 days, contact us and we will ask the courier.",
    ),
    "address_change": (
        "How do I change the delivery address?",
        "You can change the address under Orders > Details as long as the order has not been dispatched. After dispatch, contact us and we will ask the courier to redirect the parcel; this is not always possible.",
    ),
    "return_request": (
        "How do I return a product?",
        "You can return any product within 30 days. Open Orders, choose the item and click Return. We email you a prepaid label; pack the item in its original box and drop it off at any post office.",
    ),
    "refund_status": (
        "When will I get my refund?",
        "Refunds are issued within 2 business days after we receive your return. Your bank then needs 3 to 7 business days to show the money on your account. You get an email as soon as the refund is issued.",
    ),
    "exchange": (
        "Can I exchange a product?",
        "Yes. Start a return under Orders and choose Exchange instead of Refund. Select the new size, colour or model; if the price differs, we charge or refund the difference. The new item ships when the return is scanned.",
    ),
    "pricing": (
        "What plans do you offer?",
        "Free covers one user and basic features. Pro adds unlimited projects and integrations. Business adds admin controls, single sign-on and priority support. Annual billing saves 15%, and teams of 10 or more get an extra discount.",
    ),
    "compatibility": (
        "Which devices and systems are supported?",
        "Our apps support the two latest versions of iOS, Android, Windows and macOS and the current versions of Chrome, Firefox, Safari and Edge. Hardware products work with any phone that has Bluetooth 5.0 or newer.",
    ),
    "how_to": (
        "How do I invite users and export data?",
        "Invite colleagues under Settings > Workspace > Members and click Invite. To export data, open the project, click the menu and choose Export; you can download CSV, Excel or PDF.",
    ),
    "suspicious_login": (
        "I see a login I don't recognise",
        "Go to Settings > Security > Sessions and click Sign out everywhere. Change your password immediately and enable two-factor authentication. If you cannot log in anymore, contact support and we will lock the account.",
    ),
    "phishing": (
        "How do I recognise phishing emails?",
        "We never ask for your password by email. Our emails only come from our own domain. Do not click links in suspicious messages; forward them to our security team. If you entered your password on a fake site, change it right away.",
    ),
    "data_request": (
        "How do I request or delete my personal data?",
        "You can download a copy of your data under Settings > Privacy > Export. To delete your account and data, choose Delete account; we complete deletion within 30 days as required by the GDPR.",
    ),
    "no_power": (
        "My device doesn't turn on",
        "Charge the device for at least 30 minutes with the original cable. Then hold the power button for 20 seconds to force a restart. If the light still doesn't come on, the device can be replaced under warranty.",
    ),
    "battery": (
        "The battery drains quickly",
        "Update to the latest firmware, turn off features you don't use and do one full charge cycle. Batteries that lose more than 20% capacity within the first year are replaced free of charge.",
    ),
    "connectivity": (
        "The device can't connect to Wi-Fi or Bluetooth",
        "The device supports 2.4 GHz Wi-Fi only. Restart your router, keep the device close to it and reset the device's network settings. For Bluetooth, remove the old pairing on your phone and pair again.",
    ),
}

BOOK = PhraseBook(
    language="en",
    subjects=SUBJECTS,
    problems=PROBLEMS,
    answers=ANSWERS,
    articles=ARTICLES,
    openers=(
        "Hi,",
        "Hello,",
        "Hello support team,",
        "Dear Sir or Madam,",
        "Hi there,",
        "Good morning,",
    ),
    followups=(
        "I'm writing again about ticket {ticket}.",
        "This is about my previous ticket {ticket}, the problem is still not solved.",
        "I already reported this in {ticket} and nothing has happened since.",
        "Following up on {ticket}: the issue is back again.",
    ),
    context={
        "order": (
            "My order number is {order}.",
            "I ordered the {product} on {date}.",
            "Delivery address is in {city}.",
        ),
        "account": (
            "My account email is {email}.",
            "I'm on the {plan} plan.",
            "We use {product} in a team of 12 people.",
        ),
        "device": (
            "I'm using {product} version {version} on {device}.",
            "This happens on {device} and in {browser}.",
            "I already tried restarting and reinstalling.",
        ),
        "billing": (
            "My account email is {email}.",
            "I'm on the {plan} plan and pay monthly.",
            "The invoice number is {invoice}.",
        ),
        "general": (
            "We are using {product} on the {plan} plan.",
            "I've been a customer for two years.",
            "Our team is about 15 people.",
        ),
    },
    also=("Also, one more thing:", "Another question while I'm at it:", "Something else:"),
    urgent=(
        "This is urgent, our whole team can't work.",
        "Please treat this as urgent, we are losing money every hour.",
        "URGENT, I need this fixed today.",
    ),
    high=(
        "Please help as soon as possible.",
        "This is blocking my work, a quick answer would be appreciated.",
        "I need this sorted out soon.",
    ),
    anger=(
        "This is unacceptable.",
        "I'm really frustrated, this is the third time I have to write to you.",
        "Your service has been terrible lately and I'm considering cancelling.",
        "If this isn't fixed I will ask for my money back.",
    ),
    closings=("Thanks,", "Thank you in advance,", "Best regards,", "Kind regards,", "Cheers,"),
    vague=(
        ("Help", "help please, it doesn't work"),
        ("Problem", "Something is wrong with my account, please check."),
        ("Not working", "It stopped working again. What should I do?"),
        ("Question", "Hi, I have a question, can someone call me?"),
        ("Issue", "Hello, there is an issue, please fix."),
    ),
    urgent_prefix="URGENT: ",
    reply_prefixes=("Re: ",),
    agent_greetings=("Hi {name},", "Hello {name},", "Dear {name},"),
    agent_signoffs=("Best regards,\n{agent}", "Kind regards,\n{agent}\nCustomer Support"),
    clarify="Thank you for reaching out. Could you tell us a bit more about the problem: which product, what you tried and any error message you see? Then we can help right away.",
    first_names=(
        "James",
        "Emily",
        "Michael",
        "Sarah",
        "David",
        "Jessica",
        "Chris",
        "Laura",
        "Daniel",
        "Olivia",
        "Ryan",
        "Hannah",
    ),
    email_domain="example.com",
    cities=("London", "Manchester", "New York", "Chicago", "Toronto", "Dublin", "Sydney"),
    money=lambda amount: f"${amount:,.2f}",
    day=lambda d: f"{_MONTHS[d.month - 1]} {d.day}",
)
