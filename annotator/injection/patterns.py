"""The patterns behind ``annotator.injection.detect.detect``, by reason.

Every pattern runs on text that ``annotator.injection.detect`` has already normalised
(NFKC, invisible characters removed, case folded; for the Latin-script patterns
also look-alike letters folded and accents stripped), so the patterns are
written in lower case and without accents.

A sentence that *describes* a model ("our model should score higher than the
baseline", "LLMs often ignore previous instructions") must not match: the
English and other Latin-script directives only count when they are imperative,
that is at the start of a sentence or line, after "please", or after a reader
being addressed ("LLM reviewers:", "if you are an AI,", "you must").
"""

from __future__ import annotations

# who an injection talks to: the reviewer, the AI reading the text, "you"
_AI = (
    r"(?:llms?|ais?|a\.i\.|automated|automatic|machine|artificial intelligence|"
    r"(?:large )?language models?|gpt(?:-?\d\w*)?|chatgpt|claude|gemini|copilot|bots?|"
    r"(?:ai |llm )?assistants?|the model|models)"
)
_ROLE = r"(?:reviewers?|referees?|assessors?|evaluators?|graders?|judges?|readers?|screeners?)"
ADDRESSEE = (
    rf"(?:you|{_AI}(?:[ -]?(?:based|powered))?\s+{_ROLE}|{_ROLE}|{_AI}"
    rf"(?:\s+(?:reading|processing|reviewing|evaluating|summari[sz]ing)\s+this(?:\s+\w+)?)?)"
)
_MODAL = (
    r"(?:must|should|shall|will|need to|have to|ought to|"
    r"(?:are|is)\s+(?:\w+\s+)?(?:asked|required|instructed|expected|requested|told|kindly asked)\s+to)"
)
# an imperative position: start of a sentence or line, "please", or an addressee
LEAD = (
    rf"(?:^|[.!?:;\"'(\[{{>*#\-\u2013\u2014]|\bplease\b|\bkindly\b|\bnow\b|\bthen\b|"
    rf"\b{ADDRESSEE}(?:\s+[\w-]+){{0,4}}?\s*[,:\-\u2013\u2014]|"
    rf"\b{ADDRESSEE}(?:\s+\w+){{0,2}}?\s+{_MODAL}(?:\s+please)?|"
    # a second directive joined to the first: "LLM reviewers: praise it and ignore..."
    rf"(?:\b{ADDRESSEE}(?:\s+[\w-]+){{0,3}}?\s*[:\u2013\u2014]|\bplease\b|"
    rf"\b{ADDRESSEE}\s+{_MODAL})[^.!?\n]{{0,140}}\s(?:and|then|but|also|or)|"
    r"\bwhen (?:writing|drafting|preparing|producing|generating) (?:the|your|a|any) "
    r"(?:review|assessment|evaluation|report|summary)\s*,|"
    r"\b(?:instruct|tell|ask|prompt) (?:them|it|the (?:model|assistant|ai|llm|tool)) to|"
    rf"\bif you are (?:an? )?{_AI}[^.,]{{0,30}},|\bas an? {_AI}[^.,]{{0,20}},\s*(?:you\s+(?:{_MODAL}\s+)?)?)"
    r"\s*(?:please\s+|now\s+|also\s+|kindly\s+|simply\s+|just\s+)*"
)

_PAPER = r"(?:this|the|our|my)\s+(?:paper|work|submission|manuscript|abstract|article|study|contribution)"
_HIGH = (
    r"(?:100|100/100|10/10|ten out of ten|max(?:imum|imal)?|highest|perfect|top|full|best|"
    r"very high|high|excellent|outstanding|maximal|strong(?:est)?[ -]accept)"
)
_SCORE_WORD = r"(?:ai_score|novelty|scores?|ratings?|grades?|marks?|points)"

OVERRIDE = (
    r"(?:ignore|disregard|forget|override|bypass|skip|neglect|discard)\s+"
    r"(?:(?:all|any|the|your|of|these|those|every|each|earlier|above)\s+)*"
    r"(?:previous|prior|above|preceding|earlier|foregoing|original|system|existing|former|"
    r"initial|given|provided|other|old|rest of the)\s+(?:\w+\s+)?"
    r"(?:instructions?|prompts?|rules?|guidelines?|directions?|directives?|messages?|"
    r"context|commands?|criteria|text|guidance|constraints?)"
    r"|(?:ignore|disregard|forget)\s+(?:everything|anything|all)\s+"
    r"(?:above|before|else|prior|previously|you (?:were|have been) (?:told|given))"
)

REVIEW = (
    r"(?:give|write|provide|produce|generate|output|return|compose|draft)\s+(?:\w+\s+){0,2}?"
    r"(?:only\s+)?(?:an?\s+)?(?:very\s+|highly\s+|extremely\s+|strongly\s+)?"
    r"(?:positive|favou?rable|glowing|enthusiastic|excellent|supportive|praising|"
    r"uncritical)\s+(?:\w+\s+)?(?:reviews?|assessments?|evaluations?|feedback|"
    r"recommendations?|reports?|verdicts?|summar(?:y|ies)|opinions?)"
    r"|recommend\s+(?:\w+\s+){0,3}?(?:accept(?:ance|ing)?|for acceptance|publication)"
    r"|(?:accept|praise|endorse|champion)\s+"
    + _PAPER
    + r"|(?:highlight|mention|emphasi[sz]e|list|discuss|describe|report|stress|"
    r"(?:focus|concentrate)(?: only| exclusively| solely)? on|point out|comment on|talk about)\s+"
    r"(?:only\s+|exclusively\s+|solely\s+)?"
    r"(?:on\s+)?(?:the\s+|its\s+|their\s+|this paper'?s\s+|the paper'?s\s+)?"
    r"(?:\w+\s+)?(?:strengths?|positives?|positive aspects|merits|advantages|contributions)"
    r"(?:\s+only)?"
    r"|(?:do not|don't|never|avoid|refrain from|stop)\s+(?:\w+\s+){0,2}?(?:highlight|"
    r"mention|discuss|point(?:ing)? out|list|criticis|criticiz|note|raise|comment|"
    r"identify|flag|penali[sz]e|dwell|report|focus|talk)\w*\s+(?:\w+\s+){0,3}?"
    r"(?:negatives?|weakness(?:es)?|limitations?|flaws?|shortcomings?|criticisms?|"
    r"concerns?|drawbacks?|issues|problems|negative aspects)"
    r"|(?:ignore|overlook|disregard|downplay|gloss over|skip|omit)\s+(?:\w+\s+){0,3}?"
    r"(?:negatives?|weakness(?:es)?|limitations?|flaws?|shortcomings?|drawbacks?|"
    r"negative aspects)"
    r"|(?:do not|don't|never|avoid|refrain from)\s+(?:\w+\s+)?(?:criticis|criticiz|question|"
    r"challenge|fault|doubt|penalis|penaliz)\w*"
    r"|(?:state|say|write|conclude|claim|note|describe|present|call)\s+(?:that\s+)?(?:it|"
    + _PAPER
    + r")\s+(?:is\s+|as\s+)(?:\w+\s+)?(?:the best|excellent|outstanding|exceptional|"
    r"groundbreaking|flawless|a landmark|a breakthrough|impeccable|perfect)"
    r"|(?:be|stay)\s+(?:very\s+)?(?:positive|generous|lenient|kind|favou?rable)\b"
)

SCORE = (
    r"(?:give|assign|award|grant|set)\s+(?:\w+\s+){0,4}?(?:an?\s+|the\s+)?"
    rf"(?:{_SCORE_WORD}\s+(?:of\s+|to\s+|at\s+|as\s+|=\s*|:\s*)?{_HIGH}\b|"
    rf"{_HIGH}\s*(?:{_SCORE_WORD}|/\s*10|\bto\s+{_PAPER}|\bfor\b|[.!,;]|$))"
    rf"|(?:rate|score|grade|evaluate|assess|judge|mark)\s+(?:{_PAPER}|it)\s+(?:\w+\s+){{0,2}}?"
    r"(?:highly|favou?rably|positively|generously|(?:at|as|with)\s+(?:an?\s+)?"
    rf"(?:{_SCORE_WORD}\s+(?:of\s+)?)?(?:{_HIGH}|exceptional|groundbreaking|a landmark))"
)

ROLE = [
    r"<\|(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id|end_header_id|"
    r"begin_of_text)\|>",
    r"\[/?inst\]|<<\s*/?sys\s*>>|<(?:start|end)_of_turn>|</?paper_?>|</?(?:system|assistant|user)>",
    # a role label opening a line or a sentence: "system: ...", "**Assistant:**"
    r"(?:^|[.!?]\s+)\s*(?:\*\*|__)?(?:system|assistant|system prompt|developer)\s*(?:\*\*|__)?\s*:",
    # a Markdown heading that opens a fake turn or new instructions, wherever it stands
    r"#{1,6}\s*(?:system|assistant|user|human|developer|system prompt|(?:new |updated |important |"
    r"hidden |additional )?instructions?|(?:llm |ai )?reviewer (?:instructions|note)|"
    r"note (?:to|for) (?:the )?(?:ai|llm|reviewers?|model)|important review requirements)\b",
    r"(?:={2,}|-{3,}|\*{3,}|\[)\s*(?:system|assistant|end of (?:the )?(?:abstract|paper|input|document))\b",
]

MIMIC = [r"[\"']?(?:ai_score|novelty)[\"']?\s*[:=]\s*\d", r"[\"']rationale[\"']\s*:"]

LATEX_COMMENT = [
    # a "%" after a digit is a percentage ("gains 3% in F1 score"), not a comment
    r"(?<![\\\d])(?<!\d )%[^\n]*\b(?:score|reviewer|instruction|ignore|rate|accept|llm|ai)\b",
    r"<!--(?:(?!-->).){0,400}?\b(?:score|review|instruction|ignore|rate|accept|llm|ai)\b",
]
HIDDEN = [
    r"\\(?:textcolor\{white\}|phantom|color\{white\}|fontsize\{0|scalebox\{0|resizebox\{0|iffalse)",
    r"(?:color\s*:\s*(?:white|#fff\b|#ffffff)|font-size\s*:\s*0(?:\.\d+)?(?:px|pt|em)?\s*[;\"']|"
    r"display\s*:\s*none|opacity\s*:\s*0\s*[;\"'])",
]

# directives that are injections wherever they stand (they name this paper or our fields)
ANYWHERE_SCORE = [
    rf"(?:give|assign|award|grant)\s+(?:to\s+)?{_PAPER}\s+(?:\w+\s+){{0,3}}?(?:{_SCORE_WORD}|{_HIGH})",
    rf"{_PAPER}\s+(?:deserves|merits|must (?:get|receive|be given)|should (?:get|receive|be given))"
    rf"\s+(?:an?\s+|the\s+)?(?:{_HIGH}|acceptance|a strong accept|an accept)",
    r"\b(?:ai_score|novelty score)\s+(?:of\s+)?100\b",
]

NONLATIN_OVERRIDE = [
    # Chinese (simplified and traditional)
    r"(?:忽略|忽視|忽视|无视|無視|忘记|忘記|不要理会|不要理會)(?:掉)?(?:你)?(?:之前|先前|以前|前面|上面|上述|以上|所有|全部|此前|原来|原來|原有)"
    r".{0,8}?(?:指令|指示|说明|說明|提示|要求|规则|規則|命令)",
    # Japanese
    r"(?:以前|前|これまで|上記|先ほど|今まで|すべて|全て)の.{0,6}?(?:指示|命令|指令|プロンプト|ルール|説明)"
    r".{0,4}?(?:を|は)?(?:すべて|全て)?(?:無視|忘れ)",
    # Korean
    r"(?:이전|앞의|위의|모든|기존|앞선)\s*(?:\S+\s*){0,2}?(?:지시|지침|명령|프롬프트|규칙|instructions)"
    r"\S*\s*(?:\S+\s*){0,1}?(?:무시|잊)",
    # Russian
    r"(?:игнорируй|проигнорируй|игнорир\w*|забудь|забудьте|не обращай\w* внимания на|отбрось|пренебреги)"
    r"\s+(?:\w+\s+){0,2}?(?:предыдущ|прежн|вышеуказанн|вышеизложенн|все|ранее|исходн)\w*\s+"
    r"(?:\w+\s+){0,1}?(?:инструкц|указан|команд|правил|промпт)\w*",
]

GERMAN_OVERRIDE = [
    # German (accents are stripped: "vorherigen", "frueheren" as "fruheren")
    r"(?:ignoriere|ignoriert|ignorieren sie|vergiss|vergesst|vergessen sie|missachte|missachten sie)"
    r"\s+(?:\w+\s+){0,2}?(?:vorherigen|bisherigen|vorigen|obigen|fruheren|vorangegangenen|"
    r"vorstehenden|alle|ursprunglichen)\s+(?:\w+\s+)?(?:anweisungen|instruktionen|befehle|regeln|vorgaben)",
]

LATIN_MULTILINGUAL_OVERRIDE = [
    # Spanish, French, Italian, Portuguese: imperative or third person look alike, so LEAD applies
    r"(?:ignora|ignore|ignoren|ignorad|olvida|olvide|olviden|descarta|omite|ignorez|oublie|oubliez|"
    r"ignorate|dimentica|esqueca|esquece)\s+(?:\w+\s+){0,3}?(?:instrucciones|indicaciones|"
    r"instructions|consignes|istruzioni|instrucoes|ordenes|reglas|regles)\s+(?:\w+\s+)?"
    r"(?:anteriores|previas|precedentes|anterieures|precedenti|previe|anteriori|prealables)",
    r"(?:ignora|ignore|ignoren|olvida|olvide|ignorez|oubliez|oublie)\s+(?:\w+\s+){0,2}?"
    r"(?:anteriores|previas|precedentes|anterieures|precedenti)\s+(?:instrucciones|instructions|"
    r"consignes|istruzioni|instrucoes)",
]

NONLATIN_REVIEW = [
    # Chinese
    r"(?:给|給|给予|給予|打|评|評)(?:出)?(?:这篇|本篇|该|該|此|本)?(?:论文|論文|文章|工作|稿件)?(?:一个|一個)?"
    r"(?:高分|满分|滿分|最高分|最高的分数|最高的分數|最高评分|最高評分|正面的?评价|正面的?評價|积极的?评价|積極的?評價|好评|好評)",
    r"(?:推荐|推薦|建议|建議)(?:接收|接受|录用|錄用|录取|錄取)",
    r"(?:只|仅|僅)(?:强调|強調|突出|提及|关注|關注|列出)(?:其|本文的?|论文的?|論文的?)?(?:优点|優點|长处|長處|亮点|亮點)",
    r"(?:不要|请勿|請勿|切勿|无需|無需)(?:提及|提到|指出|强调|強調|讨论|討論)(?:任何)?(?:的)?(?:缺点|缺點|不足|弱点|弱點|局限)",
    # Japanese
    r"(?:高い|最高の?|満点の?)(?:評価|スコア|点数|得点|点)を(?:与え|付け|つけ|出し|下さ|くだ)",
    r"満点を(?:与え|付け|つけ)",
    r"(?:採択|採録|受理)を(?:推薦|推奨|勧め|すすめ)",
    r"(?:肯定的|好意的|前向き)な(?:レビュー|評価|査読|コメント)",
    r"(?:長所|強み|利点)(?:のみ|だけ)",
    r"(?:欠点|短所|弱点|限界)(?:に|を|には)(?:言及|触れ|指摘)(?:しない|せず|ないで)",
    # Korean
    r"(?:높은|최고|최고의|만점)\s*(?:점수|평점|평가)\S*\s*(?:를|을)?\s*(?:주|부여|매기)",
    r"만점\S*\s*(?:을|를)?\s*(?:주|부여)",
    r"(?:채택|게재|승인|수락)\S*\s*(?:을|를)?\s*(?:추천|권고|권장)",
    r"긍정적(?:인|으로)?\s*(?:리뷰|평가|심사)",
    r"(?:장점|강점)\S*\s*(?:만|위주)",
    r"(?:단점|약점|한계)\S*\s*(?:은|는|을|를)?\s*(?:언급하지|지적하지|무시)",
    # Russian
    r"(?:поставь|поставьте|дай|дайте|выстави|выставьте|присвой|присвойте)\s+(?:\w+\s+){0,3}?"
    r"(?:высок|максимальн|наивысш|высш|отличн)\w*\s+(?:\w+\s+)?(?:оценк|балл)\w*",
    r"(?:рекомендуй|рекомендуйте|порекомендуй|порекомендуйте)\s+(?:\w+\s+){0,2}?(?:принят|к публикации|одобр)\w*",
    r"(?:напиши|напишите|дай|дайте)\s+(?:\w+\s+)?(?:положительн|хвалебн|благоприятн)\w*\s+(?:отзыв|рецензи|оценк)\w*",
    r"(?:не упоминай|не упоминайте|не указывай|не указывайте|игнорируй|игнорируйте)\s+(?:\w+\s+)?"
    r"(?:недостат|слаб|ограничен)\w*",
    r"(?:только|лишь)\s+(?:\w+\s+)?(?:сильн\w+ сторон|достоинств|преимуществ)\w*",
]

GERMAN_REVIEW = [
    # German
    r"(?:gib|gebt|geben sie|vergib|vergeben sie|erteile|erteilen sie)\s+(?:\w+\s+){0,3}?"
    r"(?:die\s+|eine\s+)?(?:hochste|beste|maximale|volle|hohe|sehr gute|positive)\s+"
    r"(?:bewertung|punktzahl|note|punkte|punkten|begutachtung|rezension)",
    r"(?:empfiehl|empfehlt|empfehlen sie)\s+(?:\w+\s+){0,3}?(?:annahme|anzunehmen|akzeptanz|zur veroffentlichung)",
    r"(?:nenne|erwahne|erwahnen sie|nennen sie)\s+"
    r"(?:\w+\s+)?(?:nur|ausschliesslich)\s+(?:\w+\s+)?(?:starken|vorteile|starke)",
    r"(?:erwahne|erwahnen sie|nenne|nennen sie)\s+(?:\w+\s+){0,2}?(?:keine|keinerlei)\s+"
    r"(?:\w+\s+)?(?:schwachen|schwachpunkte|mangel|nachteile|einschrankungen)",
]

LATIN_MULTILINGUAL_REVIEW = [
    # Spanish
    r"(?:da|dale|den|asigna|asigne|otorga|otorgue|pon|ponle|califica|califique)\s+(?:\w+\s+){0,4}?"
    r"(?:la\s+|una\s+)?(?:puntuacion|calificacion|nota|valoracion|evaluacion|resena|revision)\s+"
    r"(?:\w+\s+)?(?:maxima|mas alta|alta|perfecta|excelente|positiva|favorable)",
    r"(?:recomienda|recomiende|recomienden)\s+(?:\w+\s+){0,3}?(?:aceptacion|aceptar|publicacion)",
    r"(?:destaca|destaque|menciona|mencione)\s+"
    r"(?:\w+\s+)?(?:solo|solamente|unicamente)\s+(?:\w+\s+)?(?:fortalezas|puntos fuertes|ventajas)",
    r"(?:no menciones|no mencione|no senales|no señales|ignora|ignore)\s+"
    r"(?:\w+\s+){0,2}?(?:debilidades|limitaciones|defectos)",
    # French
    r"(?:donne|donnez|attribue|attribuez|mets|mettez|accorde|accordez)\s+(?:\w+\s+){0,4}?"
    r"(?:la\s+|une\s+)?(?:note|evaluation|critique|appreciation)\s+(?:\w+\s+)?"
    r"(?:maximale|la plus elevee|elevee|parfaite|excellente|positive|favorable)",
    r"(?:recommande|recommandez)\s+(?:\w+\s+){0,3}?(?:l'?acceptation|d'accepter|la publication)",
    r"(?:souligne|soulignez|mentionne|mentionnez)\s+"
    r"(?:\w+\s+)?(?:uniquement|seulement)\s+(?:\w+\s+)?(?:points forts|forces|qualites)",
    r"(?:ne mentionne|ne mentionnez|n'evoque|n'evoquez|ignore|ignorez)\s+"
    r"(?:\w+\s+){0,3}?(?:faiblesses|limites|defauts|points faibles)",
]
