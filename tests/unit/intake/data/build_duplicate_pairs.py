"""Build duplicate_pairs.jsonl, the labelled set for near-duplicate detection.

Run from the repository root (the output is committed; rerunning must give the
same file byte for byte):

    PYTHONPATH=. python tests/unit/intake/data/build_duplicate_pairs.py

How the set is made
-------------------
Each *concern* (one 议题 as the CPPCC office would register it) was written by
hand as several submissions, phrased the way different residents would send
them: short and long, with or without greetings, colloquial or formal.  Concerns
that share a theme are grouped, so that a theme holds *hard negatives*:
kindergarten places vs kindergarten fees, the road between towns A and B vs the
road between towns C and D, street lights in one town vs another.

* paraphrase (label 1): two hand-written submissions of the same concern, in
  different words (different residents).
* copy_<edit> (label 1): one submission and a forwarded, re-submitted copy of
  it edited by code the way public submissions really are: Traditional script
  (OpenCC s2t), greetings and thanks, doubled full-width punctuation, a
  homophone typo, zero-width characters, a personal line, only the first
  clause, or several of these combined.
* hard negative (label 0): two concerns of the same theme.
* easy negative (label 0): two concerns of different themes.

Pairs are drawn with a fixed random seed.  Every pair records its kind so the
evaluation can report per-kind errors.
"""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import opencc

OUT = Path(__file__).with_name("duplicate_pairs.jsonl")
HOLDOUT_OUT = Path(__file__).with_name("duplicate_pairs_holdout.jsonl")

# theme -> concern id -> submissions (same concern, different people)
THEMES: dict[str, dict[str, list[str]]] = {
    "kindergarten": {
        "kg_places": [
            "县城公办幼儿园学位严重不足，每年几千个孩子抢一千个学位，建议新建公办幼儿园。",
            "建议县城增加公办幼儿园学位，现在只有一所公办园，孩子报不上名。",
            "孩子明年上幼儿园，公办园根本报不上名，学位太少了，希望多建几所公办幼儿园。",
            "县城公办幼儿园太少，学位不够，很多孩子只能去私立园。",
            "关于扩大县城公办幼儿园学位供给的建议",
        ],
        "kg_fees": [
            "私立幼儿园收费太高，一学期要七八千元，普通家庭负担不起，希望规范收费。",
            "建议物价部门规范民办幼儿园收费，现在私立园学费年年涨。",
            "民办幼儿园收费越来越贵，伙食费兴趣班费另收，请有关部门管一管收费标准。",
            "私立幼儿园学费太贵了，希望政府出台收费指导价。",
        ],
        "kg_village": [
            "村里的幼儿园撤并以后，孩子要到镇上去上幼儿园，路远不安全，希望恢复村级幼儿园。",
            "村幼儿园撤了，三四岁的孩子每天要走很远到镇上上学，建议在村里设幼儿园教学点。",
            "农村幼儿园撤并后孩子上学太远，希望在大村保留幼儿园。",
            "我们村没有幼儿园了，小孩只能去镇上，接送很不方便，建议村里重新办园。",
        ],
    },
    "school_transport": {
        "bus_overload": [
            "农村接送学生的面包车严重超载，司机没有资质，建议加强校车安全管理。",
            "建议整治接送学生的黑校车，一辆面包车挤十几个孩子，太危险了。",
            "乡镇学校校车不够，家长只能坐超载的面包车送孩子，请交警和教育部门管一管校车安全。",
            "接送孩子的校车超载现象严重，存在很大安全隐患，希望开通正规校车。",
        ],
        "gate_traffic": [
            "县实验小学门口上下学时间车辆乱停，交通拥堵，孩子过马路很危险，建议设置临时停车区和交通疏导。",
            "学校门口放学时家长的车堵成一片，建议交警在上下学时段安排人员疏导交通。",
            "城关小学校门口每天放学都堵车，学生过马路不安全，希望增设斑马线和护学岗。",
            "上下学高峰期学校周边道路拥堵严重，请交警部门加强疏导。",
        ],
    },
    "elderly_care": {
        "elder_canteen": [
            "我们村老人多，子女都在外打工，建议在村里办个老年食堂，解决老人吃饭难的问题。",
            "建议在农村建设老年助餐点，让留守老人能吃上热乎饭。",
            "村里留守老人做饭困难，希望政府支持开办老年人食堂，饭钱可以适当补贴。",
            "关于在社区和村开办老年助餐食堂的建议",
        ],
        "elder_home_beds": [
            "县里的公办养老院床位太少，排队要等一两年，建议扩建养老院。",
            "公办敬老院床位紧张，很多失能老人住不进去，希望增加养老机构床位。",
            "养老院床位不足，民办养老院收费又高，建议新建公办养老机构。",
            "失能老人住养老院太难，公办养老院一床难求。",
        ],
        "elder_home_service": [
            "农村留守老人越来越多，希望推广居家养老上门服务，定期有人上门看望、打扫卫生。",
            "建议开展居家养老服务，给独居老人提供上门助洁、助浴、送医送药。",
            "独居老人生活不便，希望社区组织人员定期上门为老人服务。",
            "关于为空巢独居老人提供居家上门养老服务的建议",
        ],
    },
    "rural_roads": {
        "road_xuantan_zhaoya": [
            "玄滩镇到兆雅镇的公路坑坑洼洼，下雨天积水很深，电瓶车经常摔倒，希望尽快维修。",
            "建议尽快维修玄滩至兆雅的道路，路面破损严重，大货车一过尘土飞扬。",
            "玄滩镇去兆雅镇那条路烂了好几年了，坑洼不平，什么时候能修？",
            "玄滩—兆雅公路路面损毁严重，存在安全隐患，请交通部门列入维修计划。",
        ],
        "road_yunjin_lishi": [
            "云锦镇到立石镇的公路坑坑洼洼，下雨天积水很深，摩托车经常摔倒，希望尽快维修。",
            "建议尽快维修云锦至立石的道路，路面破损严重，货车一过灰尘很大。",
            "云锦镇去立石镇的那条路烂了好多年了，到处是坑，什么时候能修好？",
            "云锦—立石公路路面损坏严重，请交通运输局安排维修。",
        ],
        "road_guardrail": [
            "我们村的村道沿着山崖，没有护栏，晚上开车很危险，建议加装防护栏。",
            "村道急弯多又没有护栏和警示标志，去年还出过事故，希望尽快安装。",
            "山区村道临崖路段缺少安全防护设施，建议增设护栏和反光标志。",
            "建议给村里临水临崖的道路装上护栏。",
        ],
    },
    "street_lights": {
        "lights_fuji": [
            "福集镇新街的路灯坏了大半年了，晚上黑灯瞎火，老人小孩出门不安全，希望尽快修好。",
            "福集镇新街路灯一直不亮，晚上走路很危险，请相关部门尽快维修。",
            "反映一下，福集新街那段路灯全部不亮已经几个月了，没人管。",
            "建议尽快修复福集镇新街损坏的路灯。",
        ],
        "lights_jiaming": [
            "嘉明镇老街的路灯坏了大半年了，晚上黑灯瞎火，老人小孩出门不安全，希望尽快修好。",
            "嘉明镇老街路灯一直不亮，晚上走路很危险，请相关部门尽快维修。",
            "反映一下，嘉明老街那段路灯全部不亮已经几个月了，没人管。",
            "建议尽快修复嘉明镇老街损坏的路灯。",
        ],
        "lights_village_install": [
            "我们村到现在还没有路灯，晚上出门全靠手电，希望给村里主干道安装太阳能路灯。",
            "建议在农村主要道路安装路灯，方便村民夜间出行。",
            "村里没有路灯，晚上骑车回家看不清路，请求安装路灯。",
            "希望给偏远村组的道路装上太阳能路灯。",
        ],
    },
    "markets": {
        "market_hygiene": [
            "城北农贸市场地面污水横流，垃圾没人及时清运，夏天苍蝇特别多，希望管一管。",
            "农贸市场环境卫生太差了，到处是烂菜叶和污水，气味难闻，建议加强管理。",
            "城北菜市场卫生脏乱差，垃圾堆成山，请市场监管和环卫部门整治。",
            "建议对城北农贸市场进行改造提升，解决卫生脏乱差问题。",
        ],
        "market_street_vendors": [
            "农贸市场周边流动摊贩占道经营，把路都堵死了，车辆过不去，建议规范管理。",
            "菜市场门口的马路被小摊小贩占满了，早上根本过不去车，请城管整治占道经营。",
            "市场外面占道摆摊的太多，交通堵塞，希望划定临时摊位区。",
            "建议治理农贸市场周边占道经营和乱摆摊现象。",
        ],
    },
    "environment": {
        "river_livestock": [
            "濑溪河沿岸的养猪场往河里直排养殖污水，河水发黑发臭，请环保部门调查处理。",
            "建议严查濑溪河边养殖场偷排粪污，河里的鱼都死了。",
            "濑溪河被养殖废水污染了，水又黑又臭，希望生态环境局管一管。",
            "关于整治濑溪河流域畜禽养殖污染的建议",
        ],
        "river_garbage": [
            "九曲河里漂满了塑料袋和生活垃圾，河道很久没人清理了，希望安排打捞。",
            "九曲河河道垃圾太多，有人往河里倒垃圾，建议加强河道保洁和巡查。",
            "九曲河两岸生活垃圾乱堆乱倒，下雨全冲进河里，请河长制办公室处理。",
            "建议定期清理九曲河河面漂浮垃圾。",
        ],
        "factory_smell": [
            "工业园区的化工厂晚上偷偷排废气，刺鼻的味道附近居民都睡不着，请环保部门夜间检查。",
            "园区工厂排放的废气有很重的异味，周边小区居民意见很大，建议加强监测。",
            "每天晚上都能闻到工业园区飘来的刺鼻气味，怀疑企业违规排放废气。",
            "建议对工业园区企业废气排放开展夜间执法检查。",
        ],
    },
    "parking": {
        "hospital_parking": [
            "县医院周边停车太难了，病人家属开车来经常要转半个小时才找到车位，建议建设立体停车场。",
            "县人民医院停车位严重不足，车都停到马路上了，建议扩建停车场。",
            "去县医院看病最头疼的就是停车，希望医院周边多规划一些停车位。",
            "关于解决县人民医院就医停车难问题的建议",
        ],
        "estate_fire_lane": [
            "小区里车辆乱停乱放，把消防通道都占了，万一着火消防车进不来，请物业和消防部门管理。",
            "我们小区消防通道长期被私家车占用，多次反映物业不管，存在严重安全隐患。",
            "建议整治住宅小区占用消防通道停车的问题。",
            "老小区没有规划车位，车都停在消防通道上，希望有关部门想办法。",
        ],
    },
    "medical_insurance": {
        "remote_reimbursement": [
            "异地就医医保报销手续太复杂，要跑好几个窗口，建议简化流程，推行网上备案。",
            "在外地住院回来报销医保要准备一大堆材料，跑好几趟，希望简化异地就医报销手续。",
            "建议推行异地就医直接结算，减少群众来回跑腿报销。",
            "外出务工人员异地看病报销难，备案和报销流程太繁琐。",
        ],
        "premium_rise": [
            "城乡居民医保缴费每年都在涨，今年一个人要交三百八十元，农村家庭人口多负担重。",
            "居民医疗保险个人缴费标准年年上涨，很多农村老人交不起，希望给予补贴。",
            "建议降低城乡居民医保个人缴费标准，或者对困难家庭给予缴费资助。",
            "医保费一年比一年贵，一家五口要交将近两千，能不能少涨点？",
        ],
    },
    "utilities": {
        "water_outage": [
            "我们村自来水经常停水，水质也不好，烧开后有很多水垢，希望水务部门检查管网和水源。",
            "村里的自来水三天两头停水，停水也不提前通知，请水务公司解决。",
            "农村供水不稳定，经常停水，水还浑浊发黄，建议改造农村供水管网。",
            "建议解决我们村饮用水经常停水和水质差的问题。",
        ],
        "mobile_signal": [
            "山区几个村手机信号很差，打电话要爬到山顶，孩子上网课也困难，建议通信公司加建基站。",
            "我们村没有4G信号，手机经常无服务，希望移动联通在村里建信号塔。",
            "偏远山村通信信号弱，网络不通，群众打电话上网都难，建议加快通信基站建设。",
            "村里手机信号太差了，建议增设基站。",
        ],
        "ev_charging": [
            "小区没有电动车充电桩，很多人把电瓶车推进楼道充电，有火灾隐患，希望集中建设充电桩。",
            "建议在老旧小区安装电动自行车集中充电设施，杜绝飞线充电和楼道充电。",
            "我们小区电瓶车充电难，只能从楼上拉电线下来充，太不安全了，请求安装充电桩。",
            "关于在住宅小区建设电动车充电棚的建议",
        ],
    },
    "neighbourhood": {
        "square_dance_noise": [
            "晚上十点以后城南广场的广场舞音响声音太大，影响周边居民休息，建议规定时间和音量。",
            "城南广场跳广场舞的音乐开得震天响，一直到很晚，附近居民没法休息。",
            "建议对广场舞噪音扰民问题进行管理，限定音量和结束时间。",
            "城南广场每天晚上噪音扰民，老人小孩都睡不好，请有关部门协调。",
        ],
        "night_construction": [
            "小区旁边的工地每天夜里施工到凌晨，噪音大得根本睡不着，请住建和环保部门查处。",
            "建议严查夜间违规施工扰民，工地晚上十二点还在打桩。",
            "附近建筑工地夜间施工噪音扰民严重，多次投诉没有效果。",
            "工地半夜还在浇混凝土，轰隆隆的，居民无法入睡，希望管管。",
        ],
        "property_fees": [
            "小区物业收费标准不透明，每年都在涨，服务却越来越差，请住建部门协调。",
            "物业费涨了服务没跟上，公共收益也不公开，业主意见很大，建议监管物业公司。",
            "建议加强对物业公司的监管，公开物业收费和公共收益账目。",
            "我们小区物业乱收费，停车费、电梯费名目繁多，希望有关部门查一查。",
        ],
        "old_estate_lift": [
            "老旧小区都是六七层没有电梯，老人上下楼太难了，建议推进老旧小区加装电梯。",
            "希望政府出台加装电梯补贴政策，我们老小区的老人爬楼梯很困难。",
            "建议老旧小区改造时把加装电梯纳入进去，方便高层老年住户。",
            "住六楼的老人腿脚不好，一年下不了几次楼，老小区能不能装电梯？",
        ],
    },
    "schools": {
        "after_school": [
            "小学下午四点就放学了，家长都还没下班，建议学校开展课后延时服务，解决接孩子难的问题。",
            "希望县里的小学都开展课后托管服务，双职工家庭接孩子太难了。",
            "放学时间太早，家长上班没法接孩子，建议推行校内课后服务。",
            "关于在全县中小学推行课后延时服务的建议",
        ],
        "school_food": [
            "学校门口的小摊贩卖三无食品，孩子们放学都去买，存在食品安全隐患，建议加强监管。",
            "校园周边小卖部卖的辣条零食都是三无产品，请市场监管部门查一查。",
            "建议整治学校周边流动摊贩售卖不合格食品的问题，保障学生饮食安全。",
            "学校外面的小吃摊卫生很差，孩子吃了拉肚子，希望管一管。",
        ],
        "school_canteen_price": [
            "学校食堂饭菜价格偏高，分量少，质量差，家长意见很大，建议公开食堂账目。",
            "希望规范中小学食堂收费，现在一顿饭十几元，饭菜又不好吃。",
            "学生食堂伙食费贵而且饭菜质量不好，建议引入家长参与监督。",
            "建议加强对学校食堂伙食质量和价格的监管。",
        ],
    },
    "employment": {
        "skills_training": [
            "希望县里多组织一些针对返乡农民工的技能培训，比如电工、焊工、家政，帮助大家在家门口就业。",
            "建议开展返乡人员职业技能培训，培训后推荐到本地企业上班。",
            "返乡的农民工找不到工作，希望人社局多办免费技能培训班。",
            "关于加强返乡农民工就业技能培训的建议",
        ],
        "wage_arrears": [
            "我在工地干了一年活，包工头拖欠工资到现在不给，希望劳动监察部门帮忙讨薪。",
            "建筑工地拖欠农民工工资，年底了还拿不到钱，请人社部门介入。",
            "建议严厉查处拖欠农民工工资的行为，保障农民工合法权益。",
            "老板欠我们几十个工人工资大半年了，投诉无门。",
        ],
    },
    "traffic": {
        "signal_renmin": [
            "县城人民路和解放路交叉口没有红绿灯，早晚高峰非常拥堵，也出过几次事故，建议加装信号灯。",
            "人民路与解放路路口车多人多，建议安装红绿灯。",
            "人民路解放路十字路口没有信号灯，车辆乱抢道，很危险。",
            "建议在人民路和解放路交叉口设置交通信号灯和斑马线。",
        ],
        "signal_binjiang": [
            "县城滨江路和建设路交叉口没有红绿灯，早晚高峰非常拥堵，也出过几次事故，建议加装信号灯。",
            "滨江路与建设路路口车多人多，建议安装红绿灯。",
            "滨江路建设路十字路口没有信号灯，车辆乱抢道，很危险。",
            "建议在滨江路和建设路交叉口设置交通信号灯和斑马线。",
        ],
        "bus_routes": [
            "县城到各乡镇的公交车班次太少，一天只有几趟，错过了就回不去，建议增加班次。",
            "希望开通县城到玄滩镇的城乡公交，现在只能坐黑车。",
            "城乡公交车班次少、收车早，村民进城办事很不方便，建议优化线路。",
            "建议延长县城公交末班车时间，增加乡镇班次。",
        ],
    },
    "sanitation": {
        "public_toilets": [
            "县城公共厕所太少了，逛街时找厕所要走很远，建议在主要街道增建公厕。",
            "城区公厕数量不够，有的还脏得进不去，希望增建并加强保洁。",
            "建议在城区商业街和公园增设公共厕所。",
            "县城找个厕所太难了，公厕又少又脏。",
        ],
        "village_garbage": [
            "我们村的垃圾池好久没人清运了，垃圾堆满了还往外溢，臭气熏天，希望及时清运。",
            "农村垃圾清运不及时，垃圾桶满了没人收，建议增加清运频次。",
            "村里的垃圾一个星期才拉一次，夏天臭得不行，请环卫部门解决。",
            "建议完善农村生活垃圾收运体系，做到日产日清。",
        ],
    },
}

# Held out: written after the similarity function and threshold were fixed,
# and never used to tune them.  Its numbers estimate performance on concerns
# the design has not seen (docs/intake.md).
HOLDOUT_THEMES: dict[str, dict[str, list[str]]] = {
    "agriculture": {
        "irrigation_canal": [
            "我们村的灌溉水渠年久失修，到处漏水，春耕放水到不了田里，希望修缮水渠。",
            "农田水利设施老化，村里的提灌站和渠道坏了好几年，种地全靠天，建议维修。",
            "建议对村组灌溉渠道进行清淤和硬化，现在水渠垮塌严重，浇不了地。",
            "水渠烂了没人修，稻田灌不上水，今年的秧都插不下去。",
        ],
        "wild_boar": [
            "最近山上的野猪经常下山拱庄稼，玉米红苕被糟蹋了一大片，村民损失很大，希望想办法。",
            "野猪毁坏农作物越来越严重，又不准打，建议组织专业队伍防控并给予赔偿。",
            "我们组的花生地一夜之间被野猪拱完了，请林业部门管一管野猪泛滥的问题。",
            "建议出台野猪致害补偿办法，帮助农户减少损失。",
        ],
        "fertiliser_price": [
            "今年化肥价格涨得太厉害了，一袋复合肥贵了五六十元，种粮根本不赚钱，希望稳定农资价格。",
            "农资价格上涨太快，种子化肥农药都在涨，建议加大农资补贴。",
            "化肥贵、粮价低，农民种地积极性受打击，建议政府平抑化肥价格。",
            "建议加强农资市场价格监管，防止化肥经销商囤积涨价。",
        ],
    },
    "rural_health": {
        "clinic_doctors": [
            "镇卫生院医生太少了，看个病要排半天队，有些科室根本没有医生，希望多招医生。",
            "乡镇卫生院缺少专业医生，稍微严重一点的病都要跑县城，建议加强基层医疗队伍建设。",
            "建议提高乡镇卫生院医生待遇，留住人才，现在年轻医生都走了。",
            "我们镇卫生院就几个老医生，儿科妇科都没有，看病很不方便。",
        ],
        "village_clinic_drugs": [
            "村卫生室药品种类太少，常用的降压药都经常断货，老人只能跑到镇上去拿药。",
            "建议保障村卫生室基本药品供应，慢性病老人拿药太难了。",
            "村医那里经常缺药，高血压糖尿病的药买不到，希望有关部门解决。",
            "村卫生室的药不全，看个感冒都要去镇上，请卫健局重视。",
        ],
    },
    "public_facilities": {
        "fitness_equipment": [
            "小区广场的健身器材坏了很久了，有的螺丝都松了，老人锻炼很危险，希望维修更换。",
            "公园里的健身器材损坏严重，单杠都断了，建议定期检查维护。",
            "建议对全县公共健身器材开展安全排查，坏了的及时修。",
            "我们社区的健身路径器材生锈损坏，没人管，孩子玩的时候差点受伤。",
        ],
        "library_hours": [
            "县图书馆周末和晚上都不开门，上班族根本没时间去借书，建议延长开放时间。",
            "希望县图书馆晚上也开放，学生放学后想去看书都关门了。",
            "建议图书馆实行错时开放，方便上班族和学生。",
            "图书馆开放时间太短了，工作日下午五点就关门。",
        ],
        "bus_shelters": [
            "县城很多公交站没有候车亭，下雨天等车只能淋雨，夏天也晒得受不了，建议增设候车亭。",
            "建议在公交站点建设遮阳挡雨的候车亭，并安装座椅。",
            "公交车站连个棚子都没有，老人等车太辛苦了。",
            "希望在主要公交站台增加候车亭和线路指示牌。",
        ],
    },
    "safety": {
        "landslide_risk": [
            "我们组后山有一处山体开裂，雨季容易发生滑坡，下面住着十几户人家，请国土部门尽快排查。",
            "建议对村里的地质灾害隐患点进行治理，山上的裂缝越来越大了。",
            "后山下雨就往下掉石头，担心发生泥石流，希望政府派人来看看。",
            "请求对滑坡隐患点安装监测设备并搬迁受威胁的农户。",
        ],
        "electric_bikes_helmets": [
            "很多骑电瓶车的人不戴头盔，还载两三个人，出了事故伤得很重，建议加强宣传和检查。",
            "建议交警严查电动车载人超载和不戴安全头盔的行为。",
            "电瓶车闯红灯、逆行、不戴头盔现象很普遍，希望加大整治力度。",
            "骑电动车不戴头盔太危险了，建议推行免费发放头盔。",
        ],
    },
    "stray_animals": {
        "stray_dogs": [
            "小区里流浪狗越来越多，晚上成群结队，已经咬伤了好几个小孩，希望有关部门收容处理。",
            "建议对县城流浪狗进行集中收容，现在到处都是，很吓人。",
            "我们小区流浪狗咬人了，请城管和畜牧部门处理。",
            "流浪犬伤人事件频发，建议建立流浪动物收容站。",
        ],
        "dog_leash": [
            "很多人遛狗不拴绳，大狗到处乱跑，老人小孩都被吓到，建议出台文明养犬规定。",
            "希望加强对养犬的管理，遛狗必须拴绳、及时清理粪便。",
            "小区里养狗的不牵绳，狗屎遍地，多次劝说无效，请有关部门管一管。",
            "建议制定城区养犬管理办法，对不拴绳遛狗进行处罚。",
        ],
    },
}


# Greetings, thanks and small talk that people wrap their concern in.
GREETINGS = ["尊敬的领导您好！", "您好，", "领导好，我想反映一个问题：", "各位政协委员好，", "你好！请问一下，"]
THANKS = ["谢谢！", "麻烦了，谢谢！！", "希望得到回复，谢谢领导。", "盼复。", "辛苦了！"]
# Homophone and near-form typos as they happen with pinyin input.
TYPOS = [("建议", "建意"), ("希望", "希往"), ("幼儿园", "幼儿圆"), ("维修", "维休"), ("路灯", "路登"),
         ("停车", "亭车"), ("报销", "报消"), ("养老院", "养老园"), ("严重", "严肿"), ("垃圾", "拉圾")]


# What a resident adds about themselves when re-sending a message.
PERSONAL_PREFIXES = ["我是一名退休教师，", "我家孩子今年三岁，", "我也遇到了同样的情况，", "我是附近的居民，", "群里大家都在说这个事，"]
PERSONAL_SUFFIXES = ["我们小区很多人都有这个意见。", "已经反映过好几次了。", "希望政协委员帮忙呼吁。", "", "大家都很着急。"]


def _first_clause(text: str) -> str:
    for sep in ("，", "。", "！", "？"):
        if sep in text:
            head = text.split(sep, 1)[0]
            if len(head) >= 8:
                return head
    return text


def _traditional(text: str, s2t: opencc.OpenCC) -> str:
    return s2t.convert(text)


def _noisy_punctuation(text: str) -> str:
    return (text.replace("，", "，，").replace("。", "。。。").replace("！", "！！！").replace("？", "？？")
            .replace(",", ",,")) + ("！！！" if not text.endswith(("！", "。", "？")) else "")


def _zero_width(text: str) -> str:
    return "\u200b".join(text[i:i + 4] for i in range(0, len(text), 4)) + "\ufeff"


def _typo(text: str, rng: random.Random) -> str:
    options = [(a, b) for a, b in TYPOS if a in text]
    if not options:
        return text.replace("的", "得", 1)
    a, b = rng.choice(options)
    return text.replace(a, b, 1)


def build(themes: dict[str, dict[str, list[str]]] | None = None, seed: int = 20260301) -> list[dict]:
    themes = THEMES if themes is None else themes
    rng = random.Random(seed)
    s2t = opencc.OpenCC("s2t")
    pairs: list[dict] = []

    def add(a: str, b: str, label: int, kind: str, ca: str, cb: str) -> None:
        pairs.append({"a": a, "b": b, "label": label, "kind": kind, "concern_a": ca, "concern_b": cb})

    concerns = [(theme, cid, texts) for theme, group in themes.items() for cid, texts in group.items()]

    # Positives, kind 1: independent paraphrases — two residents describing
    # the same concern in their own words (3 of the 6 pairs of 4 texts).
    for _theme, cid, texts in concerns:
        for i, j in ((0, 1), (0, 2), (1, 3)):
            add(texts[i], texts[j], 1, "paraphrase", cid, cid)

    # Positives, kind 2: the same message forwarded and re-submitted (a
    # WeChat group passes it round) with each sender's own edits: script,
    # greetings, punctuation, a typo, invisible characters, a personal line,
    # or only the first clause.  3 per concern, cycling through the edits.
    edits = ["traditional", "greeting", "punctuation", "typo", "zero_width", "personal", "shortened", "combined"]
    counter = 0
    for _theme, cid, texts in concerns:
        for k in range(3):
            edit = edits[counter % len(edits)]
            counter += 1
            a = texts[(k + counter) % 4]
            b = a
            if edit == "traditional":
                b = _traditional(a, s2t)
            elif edit == "greeting":
                b = rng.choice(GREETINGS) + a + rng.choice(THANKS)
            elif edit == "punctuation":
                b = _noisy_punctuation(a)
            elif edit == "typo":
                b = _typo(a, rng)
            elif edit == "zero_width":
                b = _zero_width(a)
            elif edit == "personal":
                b = rng.choice(PERSONAL_PREFIXES) + a + rng.choice(PERSONAL_SUFFIXES)
            elif edit == "shortened":
                b = _first_clause(a)
            elif edit == "combined":
                b = rng.choice(GREETINGS) + _noisy_punctuation(_traditional(_typo(a, rng), s2t))
            if b == a:  # e.g. a one-clause text cannot be shortened
                b = rng.choice(GREETINGS) + a
            add(a, b, 1, f"copy_{edit}", cid, cid)

    # Hard negatives: every pair of concerns in a theme, 4 text pairs each,
    # preferring parallel phrasings (index i with index i), which share the
    # most wording ("路灯坏了大半年了" in two different towns).
    for _theme, group in themes.items():
        for (ca, ta), (cb, tb) in itertools.combinations(group.items(), 2):
            for i in range(4):
                j = i if i < 2 else rng.randrange(len(tb))
                add(ta[i], tb[j], 0, "hard_negative", ca, cb)

    # Easy negatives: random concerns of different themes.
    for _ in range(60 if themes is THEMES else 30):
        (t1, c1, x1), (t2, c2, x2) = rng.sample(concerns, 2)
        if t1 == t2:
            continue
        a, b = rng.choice(x1), rng.choice(x2)
        if rng.random() < 0.3:
            b = rng.choice(GREETINGS) + b
        add(a, b, 0, "easy_negative", c1, c2)

    # The fifth submission of a concern, when there is one, is a formal title
    # ("关于…的建议"): pair it with the most colloquial text — titles are what
    # the office registers, so matching them matters.
    for _theme, cid, texts in concerns:
        if len(texts) > 4:
            add(texts[4], texts[2], 1, "paraphrase_title", cid, cid)
    return pairs


def _write(pairs: list[dict], out: Path) -> None:
    with out.open("w", encoding="utf-8") as fh:
        for p in pairs:
            fh.write(json.dumps(p, ensure_ascii=False) + "\n")
    kinds: dict[str, int] = {}
    for p in pairs:
        kinds[p["kind"]] = kinds.get(p["kind"], 0) + 1
    print(f"{len(pairs)} pairs -> {out}")
    for k, n in sorted(kinds.items()):
        print(f"  {k}: {n}")


def main() -> None:
    _write(build(), OUT)
    _write(build(HOLDOUT_THEMES, seed=20260302), HOLDOUT_OUT)


if __name__ == "__main__":
    main()
