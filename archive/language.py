"""Language of a page: script counts first, then seeded langdetect.

Codes: BCP-47-ish `en`, `de`, ..., `zh-Hans`, `zh-Hant`, and `und` when there is nothing to go on.
langdetect calls Traditional Chinese `ko` and raises on symbol-only text, so Han text never
reaches it: we decide Chinese by counting scripts and split Simplified from Traditional by
characters that exist in only one of the two.
"""

from __future__ import annotations

import re
from collections import Counter

from langdetect import DetectorFactory, LangDetectException, detect_langs

from .script import HAN, HANGUL, KANA, LATIN

DetectorFactory.seed = 0

_LETTER = re.compile(r"[^\W\d_]")

# Common characters whose forms differ between the scripts (each a frequent word part).
_SIMPLIFIED_ONLY = set(
    "们这个说国来时会对于学与为无发经点体关开长门问间电话实现还进过头见亲觉让论语请议读变"
    "东车书买卖马鸟鱼龙鸡气汉万与专业丛东丝两严丧个丰临为丽举么义乌乐乔习乡书买乱争亏云亚产亩"
    "亲亿仅从仑仓仪们价众优伙会伞伟传伤伦伪体余佣侠侣侥侦侧侨侬俣俦俨俩俪俭债倾偻偿储儿兑兰关兴"
    "养兽内冈册写军农冯冲决况冻净凉减凑凤凭凯击凿刍刘则刚创删别刮制刹剂剐剑剥剧劝办务动励劲劳势"
    "勋匀区医华协单卖卢卫却厂厅历厉压厌厕厘县参双发变叙叠号叹吓吗启员呜咏响哑哗唤啧啬团园围图圆"
    "圣场坏块坚坛坝坞坟坠垒垦垫执扩扫扬扰抚抛抟抠护报担拟拢拣拥拦拧拨择挂挚挛挝挞挟挠挡挤挥损捡"
    "换捣据掳掷掸掺揽搀搁搂搅携摄摆摇摊撑撵擞攒敌数斋斩断无旧时旷昙昼显晋晓晕晖暂术机杀杂权条来"
    "杨杰极构枢枣枪柜标栈栋栏树样档桥检椭楼榄欢欧歼毁毕毙气氢氧汇汉汤沟没泪泼泽洁洒浅浆测济浏浑"
    "浓涌涛涝润涨渊渐渔温湾湿满滚滞滤滥滨滩潇澜灭灯灵灾灿炉点炼烁烂烃烛烟烦烧烫热焕爱爷牍牵犹狈"
    "独狭狮狱猎猪献获环现玛电画畅疗疟疮疯痒痴瘫皑盏盐监盖盗盘眯着睁瞒矫矶矿码砖砚砾础硕确碍碱礼"
    "祷祸禄离种积称税稳穷窃窍窝窥竖竞笔笼筑筛筹签简箩篮类粮紧纠红约级纪纬纯纱纲纳纵纷纸纹纺线练"
    "组细织终绍经绑结绕绘给络绝统继绩绪续维绵综绿缓编缘缚缝缩网罗罚罢职联聪肃肠肤肾肿胀胁胆胜胶"
    "脉脏脑脚脱腊舰舱艰艺节芦苍苏苹范茎荐荣药莱获莹营萧萨蓝蔷蕴虏虑虚虫虽虾蚀蚁蚂蛮补衬袜袭装裤"
    "见观规视览觉誉计订认讨让训议讯记讲讶许论设访证评识诉词译试诗诚话诞询该详语误说请诸诺读课谁"
    "调谈谊谋谍谎谓谜谢谨谱谷贝贞负贡财责贤败货质贩贪贫购贮贯贱贴贵贷贸费贺贼资赋赌赎赏赔赖赚赛"
    "赞赠赵赶趋跃践踪轨转轮软轰轻载较辅辆辈辉辑输辖边辽达迁过迈运还这进远违连迟适选逊递逻遗邓邮"
    "邻郁郑酝酱释里鉴针钉钓钞钟钢钥钦钱钻铁铃铅铜铝铭铲银铸链销锁锅锈锋错锡锣锤锦键镇镜长门闪闭"
    "问闯闲间闷闸闹闻阀阁阅队阳阴阵阶际陆陈陕险随隐隶难雏雾静面鞑韦韧韩页顶项顺须顽顾顿预领颇频"
    "题颜额风飞饥饭饮饰饱饲饼馆首驱驳驶驻驾验骂骄骑骗骚鸡鸣鸭鸿鹅鹤麦黄齐齿龄"
)
_TRADITIONAL_ONLY = set(
    "們這個說國來時會對於學與為無發經點體關開長門問間電話實現還進過頭見親覺讓論語請議讀變"
    "東車書買賣馬鳥魚龍雞氣漢萬專業叢絲兩嚴喪豐臨麗舉麼義烏樂喬習鄉亂爭虧雲亞產畝億僅從侖倉儀價"
    "眾優夥傘偉傳傷倫偽餘傭俠侶僥偵側僑儂儼倆儷儉債傾僂償儲兒兌蘭興養獸岡冊寫軍農馮衝決況凍淨涼"
    "減湊鳳憑凱擊鑿劉則剛創刪別颳製剎劑劍剝劇勸辦務動勵勁勞勢勛勻區醫華協單盧衛卻廠廳歷厲壓厭廁"
    "縣參雙敘疊號嘆嚇嗎啟員嗚詠響啞嘩喚嘖嗇團園圍圖圓聖場壞塊堅壇壩塢墳墜壘墾墊執擴掃揚擾撫拋摶"
    "摳護報擔擬攏揀擁攔擰撥擇掛摯攣撾撻挾撓擋擠揮損撿換搗據擄擲撣摻攬攙擱摟攪攜攝擺搖攤撐攆擻攢"
    "敵數齋斬斷舊曠曇晝顯晉曉暈暉暫術機殺雜權條楊傑極構樞棗槍櫃標棧棟欄樹樣檔橋檢橢樓欖歡歐殲毀"
    "畢斃氫氧匯湯溝沒淚潑澤潔灑淺漿測濟瀏渾濃湧濤澇潤漲淵漸漁溫灣濕滿滾滯濾濫濱灘瀟瀾滅燈靈災燦"
    "爐煉爍爛烴燭煙煩燒燙熱煥愛爺牘牽猶狽獨狹獅獄獵豬獻獲環現瑪畫暢療瘧瘡瘋癢癡癱皚盞鹽監蓋盜盤"
    "瞇睜瞞矯磯礦碼磚硯礫礎碩確礙鹼禮禱禍祿離種積稱稅穩窮竊竅窩窺豎競筆籠築篩籌簽簡籮籃類糧緊糾"
    "紅約級紀緯純紗綱納縱紛紙紋紡線練組細織終紹綁結繞繪給絡絕統繼績緒續維綿綜綠緩編緣縛縫縮網羅"
    "罰罷職聯聰肅腸膚腎腫脹脅膽勝膠脈臟腦腳脫臘艦艙艱藝節蘆蒼蘇蘋範莖薦榮藥萊瑩營蕭薩藍薔蘊虜慮"
    "虛蟲雖蝦蝕蟻螞蠻補襯襪襲裝褲觀規視覽譽計訂認討訓訊記講訝許設訪證評識訴詞譯試詩誠誕詢該詳誤"
    "諸諾課誰調談誼謀諜謊謂謎謝謹譜貝貞負貢財責賢敗貨質販貪貧購貯貫賤貼貴貸貿費賀賊資賦賭贖賞賠"
    "賴賺賽贊贈趙趕趨躍踐蹤軌轉輪軟轟輕載較輔輛輩輝輯輸轄邊遼達遷邁運遠違連遲適選遜遞邏遺鄧郵鄰"
    "鬱鄭醞醬釋裡鑒針釘釣鈔鐘鋼鑰欽錢鑽鐵鈴鉛銅鋁銘鏟銀鑄鏈銷鎖鍋鏽鋒錯錫鑼錘錦鍵鎮鏡閃閉闖閒悶"
    "閘鬧聞閥閣閱隊陽陰陣階際陸陳陝險隨隱隸難雛霧靜韃韋韌韓頁頂項順須頑顧頓預領頗頻題顏額風飛饑"
    "飯飲飾飽飼餅館驅駁駛駐駕驗罵驕騎騙騷鳴鴨鴻鵝鶴麥黃齊齒齡"
)


# Characters written the same in both scripts slipped into the lists above; drop them.
_BOTH = (_SIMPLIFIED_ONLY & _TRADITIONAL_ONLY) | set("谷面首里着于")
_SIMPLIFIED_ONLY -= _BOTH
_TRADITIONAL_ONLY -= _BOTH


def chinese_variant(text: str) -> str:
    """zh-Hans or zh-Hant from script-specific characters; Simplified when undecided."""
    simp = sum(1 for ch in text if ch in _SIMPLIFIED_ONLY)
    trad = sum(1 for ch in text if ch in _TRADITIONAL_ONLY)
    return "zh-Hant" if trad > simp else "zh-Hans"


def detect_language(text: str) -> str:
    """Language code of a piece of text; `und` for empty, symbol-only or too-short text. Never raises."""
    letters = _LETTER.findall(text)
    if len(letters) < 3:
        return "und"
    han = len(HAN.findall(text))
    kana = len(KANA.findall(text))
    hangul = len(HANGUL.findall(text))
    latin = len(LATIN.findall(text))
    total = len(letters)
    # A Han character carries about a word; weigh it against Latin letters per word (~5).
    if kana > 0.1 * total:
        return "ja"
    if hangul > 0.2 * total:
        return "ko"
    if han and han * 5 >= latin * 0.5 and han >= 2:
        return chinese_variant(text)
    if latin < 0.3 * total and han == 0:
        pass  # another script (Cyrillic, Greek, Arabic ...): langdetect knows them
    try:
        guesses = detect_langs(text)
    except LangDetectException:
        return "und"
    if not guesses:
        return "und"
    best = guesses[0]
    code = str(best.lang)
    if code.startswith("zh") or code == "ko" and han:
        return chinese_variant(text)
    if best.prob < 0.5 and latin > 0.8 * total:
        return "en" if _looks_english(text) else code
    return code


_EN_STOP = {"the", "and", "of", "to", "in", "is", "for", "that", "on", "with", "this", "we", "you", "be"}


def _looks_english(text: str) -> bool:
    words = re.findall(r"[a-z]+", text.lower())
    return bool(words) and sum(w in _EN_STOP for w in words) >= max(1, len(words) // 20)


def summarize_languages(page_langs: list[str]) -> str:
    """Document language: the most common page language, ignoring `und`; `mul` isn't used."""
    counts = Counter(lang for lang in page_langs if lang and lang != "und")
    if not counts:
        return "und"
    return counts.most_common(1)[0][0]


def is_chinese(lang: str | None) -> bool:
    return bool(lang) and str(lang).startswith("zh")
