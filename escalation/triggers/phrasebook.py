"""The default phrase lists: what customers write when a ticket needs more than L1.

Each category has phrases and exclusions (see phrases.py for the grammar). Exclusions are the
product questions and report titles that share words with a real trigger: "escalate privileges
in RBAC", "manager role permissions", "SLA breach report template".
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from escalation.triggers.kinds import PhraseCategory

_PERSON = (
    "(manager|supervisor|superior|boss|management|someone senior|somebody senior|senior|"
    "someone more senior|higher up|someone higher up|someone in charge|head of support|"
    "team lead|escalation team|person in charge)"
)
_REQUEST_VERB = "(speak|talk|chat|connect|transfer|put|escalate|get|hand|pass|forward)"

_DEFAULT_PHRASES: dict[PhraseCategory, tuple[tuple[str, ...], tuple[str, ...]]] = {
    PhraseCategory.MANAGER_REQUEST: (
        (
            f"{_REQUEST_VERB} ... {_PERSON}",
            "(want|need|demand|request|require|insist on|get|bring|call|fetch|give) (me|us)? "
            "(a|an|the|your|some)? (manager|supervisor|superior|someone senior)",
            "(manager|supervisor|superior) , (please|pls|now|asap|immediately|right now)",
            "who is (your|the) (manager|supervisor|boss|superior)",
            "(your|the) (manager|supervisor|boss|superior) (name|email|contact|number|phone)",
            "(someone|somebody|anyone|whoever) (is)? in charge",
            "(someone|somebody|anyone) (higher up|more senior|senior)",
            "chain of command",
        ),
        (
            "(manager|supervisor|superior) (role*|permission*|access|account*|view|dashboard|"
            "setting*|level*|privilege*|user*|seat*|licen*|field*|app|tab|module|profile|"
            "rights|approval*|mode|portal|console)",
            "(password|project|package|task|file|product|ads|business|tag|device|office|window|"
            "download|plugin|resource|service|queue|hiring|campaign|release|content|event|"
            "property|asset|fleet|inventory|database|certificate|secret|key|identity|account|"
            "customer success) (manager|managers)",
            "(user|access|identity|project|task|account|content|data|inventory|order|case|ticket|"
            "time|risk|change|release|license|device|asset|password|key|policy|role|permission|"
            "product|vendor|incident) management",
            "(my|our) (manager|boss|supervisor|superior|management|team lead|senior)",
            "as a (manager|supervisor)",
            "senior (plan|tier|discount|citizen*|developer role)",
        ),
    ),
    PhraseCategory.ESCALATION_REQUEST: (
        (
            "escalat* (this|it|that|my|our|the|me|to|ticket|issue|case|matter|complaint|request)",
            "escalat* , (please|pls|asap|now|immediately|right away)",
            "(please|pls|kindly) escalat*",
            "(want|need|like|demand|request|require|expect|insist) (this|it|that|my|our|the)? "
            "(ticket|issue|case|matter|request|complaint)? (to be|be)? escalat*",
            "(want|need|like|going|have|demand) to escalat*",
            "(request*|demand*|want|need|file|raise|open) (an|a)? (formal|urgent)? escalation",
            "escalation , (please|pls|now|asap|immediately)",
        ),
        (
            "escalat* ... (privilege*|permission*|role*|rights|access level*|sudo|root)",
            "privilege* escalat*",
            "escalation (polic*|rule*|setting*|workflow*|matrix|chain*|path*|level*|"
            "feature*|api|endpoint*|webhook*|trigger*|template*|report*)",
            "auto* escalat*",
        ),
    ),
    PhraseCategory.COMPLAINT: (
        (
            "unacceptable",
            "(this|that|it|which) (is|was)? (just|simply|absolutely|totally|completely)? "
            "not (acceptable|ok|okay)",
            "not (acceptable|ok|okay) at all",
            "(terrible|horrible|awful|appalling|abysmal|atrocious|lousy|pathetic|worst) "
            "(service|support|experience|product|company|response*)",
            "waste of (my|our|your)? time",
            "wasting (my|our) time",
            "(completely|totally|absolutely|utterly)? (useless|ridiculous|incompetent|"
            "disgraceful|outrageous|appalling|disgusting)",
            "(fed up|sick and tired|sick of|had enough|at my wits end)",
            "(very|extremely|really|so|incredibly|beyond) (frustrated|frustrating|angry|furious|"
            "disappointed|upset|annoyed)",
            "furious",
            "worst (ever|company|service|support)",
            "nobody (helps|cares|answers|responds)",
            "(still|again) (no|not) (answer|response|reply|fix|solution)",
        ),
        (
            "unacceptable (use|usage|content)",
            "acceptable use",
        ),
    ),
    PhraseCategory.LEGAL: (
        (
            "(lawsuit*|litigation|subpoena*|class action|cease and desist)",
            "(legal action|legal proceeding*|legal steps|legal recourse)",
            "(my|our) (lawyer*|attorney*|solicitor*|legal (team|counsel|department))",
            "(will|gonna|i'll|we'll|shall|(going|plan|planning|intend|intending|threaten|"
            "threatening|decided|want|prepared|ready) to) (sue|take you to court)",
            "sue (you|your company|the company|your business|your firm)",
            "(see you|take you|taking you|take this) (in|to) court",
            "breach of contract",
            "(gdpr|ccpa|hipaa|data protection) (complaint|violation|breach|authority|regulator)",
            "(report|reporting) (you|this|your company) to (the)? "
            "(regulator*|authorit*|ftc|ico|attorney general|bbb|ombudsman)",
            "(violat*|breach*) ... (law|laws|regulation*|gdpr|ccpa|hipaa)",
        ),
        (
            "(legal|lawsuit|litigation) (template*|form*|document* template*|hold feature)",
            "(litigation|legal) hold (feature|setting*|polic*|api)",
        ),
    ),
    PhraseCategory.SECURITY: (
        (
            "(breach|breached|data breach|security breach|security incident|security issue)",
            "(data|credential*|password*|customer data|personal data|pii|api key*) (leak|leaked|"
            "leaking|exposed|stolen|compromised)",
            "(leak*|exposed|stolen|compromised) (our|my|the|customer|personal)? (data|credentials|"
            "password*|api key*|token*|pii|records)",
            "(account|accounts|password|credentials|server|system|data|laptop|device|api key|"
            "token) (was|were|has been|have been|is|got|been)? compromised",
            "(been|was|were|got|get|getting|is|are) hacked",
            "(hacked (account|accounts)|hacker|hackers|hijacked|account takeover)",
            "(phishing|malware|ransomware|keylogger|spyware)",
            "(unauthorized|unauthorised) (access|login*|logins|sign in*|user*|activity)",
            "(someone|somebody|stranger|unknown (person|user)) ... (logged|accessed|got|broke|"
            "signed) (in|into)? (my|our)? account",
            "(vulnerabilit*|exploit|exploited|sql injection|xss|cross site scripting|"
            "remote code execution)",
            "(two factor|2fa|mfa) (bypass*|disabled without)",
        ),
        (
            "(sla|slo|contract|deadline|budget|quota|threshold|limit|rate limit) breach*",
            "breach* (report|notification)? template*",
            "breach of contract",
            "phishing (simulation|training|test*|awareness)",
        ),
    ),
    PhraseCategory.OUTAGE: (
        (
            "(outage|outages|downtime|service disruption)",
            "(major|critical|ongoing|production|p0|sev1|sev 1) incident",
            "(site|app|application|service|system|platform|api|website|server|servers|"
            "dashboard|everything|production|prod|portal|login|checkout|instance) (is|are|went|"
            "has been|have been|was|seems|appears)? (completely|totally|entirely|all)? "
            "(down|offline|unreachable|unavailable)",
            "down for (everyone|everybody|all (of)? (us|our users)|our (team|users|customers))",
            "(nobody|no one|none of us|none of our users) (can|could|is able to) "
            "(log in|login|sign in|access|use|connect|load|reach)",
            "(everyone|everybody|all (of)? our users|all users) (can't|cannot|is unable to|"
            "are unable to) (log in|login|sign in|access|use|connect|load|reach)",
        ),
        (
            "(planned|scheduled|schedule|scheduling|plan|maintenance) (outage*|downtime)",
            "(outage*|downtime) ... (template*|history|window*|credit*)",
            "(set|mark|change|update|make) ... (offline|unavailable)",
        ),
    ),
    PhraseCategory.DATA_LOSS: (
        (
            "(data loss|data corruption|corrupted data|lost data)",
            "lost (all|some|most)? (of)? (my|our|the)? (data|files|records|work|documents|"
            "history|database|emails|projects|orders)",
            "(data|files|records|database|documents|history|projects|orders) (was|were|got|have "
            "been|has been|are|is)? (all)? (deleted|wiped|erased|corrupted|gone|lost|vanished|"
            "disappeared)",
            "(wiped|erased|corrupted) (all|most)? (of)? (my|our|the)? (data|files|records|"
            "database|documents|history|projects)",
        ),
        (
            "data loss prevention",
            "(data|file*|record*) ... (retention|deletion request|export)",
        ),
    ),
    PhraseCategory.ACCOUNT: (
        (
            "(contract|renewal|msa|master service agreement|order form|purchase order)",
            "cancel* ... (subscription|account|contract|plan|service|license*)",
            "(switch|switching|move|moving|migrate|migrating|go|going) (to)? (a|another)? "
            "(competitor|vendor|provider|alternative)",
            "(account|customer success) manager",
            "(seat*|licen*) (count|true up)",
        ),
        (),
    ),
    PhraseCategory.FEEDBACK: (
        (
            "feature request*",
            "(would|it'd) be (nice|great|helpful|good|useful) (if|to)",
            "(please|could you|can you|would you) add",
            "(suggestion|proposal|wishlist|wish list|roadmap)",
            "(missing|lacks|lacking) (a)? feature",
        ),
        (),
    ),
}
DEFAULT_PHRASES: Mapping[PhraseCategory, tuple[tuple[str, ...], tuple[str, ...]]] = (
    MappingProxyType(_DEFAULT_PHRASES)
)
"""Per category: (phrases, exclusions)."""

DEFAULT_NEGATORS: tuple[str, ...] = (
    "not", "no", "never", "none", "nothing", "without", "hardly", "neither", "nor", "cannot",
    "isn't", "isnt", "aren't", "arent", "wasn't", "wasnt", "weren't", "werent", "don't", "dont",
    "doesn't", "doesnt", "didn't", "didnt", "won't", "wont", "wouldn't", "wouldnt", "can't",
    "cant", "couldn't", "couldnt", "shouldn't", "shouldnt", "haven't", "havent", "hasn't",
    "hasnt", "ain't", "aint", "needn't", "neednt",
)  # fmt: skip
"""Words that cancel a phrase standing shortly after them in the same clause."""

DEFAULT_SCOPE_BREAKERS: tuple[str, ...] = (
    "i", "we", "you", "they", "he", "she", "it", "but", "and", "so", "then", "if", "until",
    "unless", "because", "or", "otherwise", "else", "however", "yet", "still",
)  # fmt: skip
"""Words that end a negation's reach: "if this is not fixed I want a manager" still asks."""
